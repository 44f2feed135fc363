// Package dingtalk holds groupcast's DingTalk drivers and its intake
// source:
//
//   - WebhookDriver sends through a custom group robot (自定义机器人):
//     one robot is one group, signed with HMAC-SHA256 when it has a secret,
//     every part carrying a msgUuid so a retry never posts twice.
//   - OpenAPIDriver sends through an enterprise-internal app robot to any
//     group it is in (openConversationId), and can recall.
//   - Stream is the Stream-mode bot: an @-message "/announce" in an admin
//     group becomes an announcement through the same intake as HTTP.
//
// The platform's limits, rates and error codes are in limits.go, each with
// its source. Strict fakes of all three services are in dingtalkfake.
package dingtalk
