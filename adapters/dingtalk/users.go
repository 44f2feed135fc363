package dingtalk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/groupcast/groupcast"
)

// BatchSendUsersMax is the most userIds one oToMessages/batchSend takes
// (DingTalk "批量发送人与机器人会话中机器人消息": userIds, 最多 20 个).
const BatchSendUsersMax = 20

// batchSendRequest is the body of /v1.0/robot/oToMessages/batchSend.
type batchSendRequest struct {
	RobotCode string   `json:"robotCode"`
	UserIDs   []string `json:"userIds"`
	MsgKey    string   `json:"msgKey"`
	MsgParam  string   `json:"msgParam"`
}

type batchSendAnswer struct {
	ProcessQueryKey           string   `json:"processQueryKey"`
	InvalidStaffIDList        []string `json:"invalidStaffIdList"`
	FlowControlledStaffIDList []string `json:"flowControlledStaffIdList"`
}

// SendToUsers posts a Markdown message to users one to one, as the robot
// (oToMessages/batchSend, at most BatchSendUsersMax per request, each
// request through the account's pacer). Text too long for one msgParam is
// split. User ids DingTalk reports invalid make a Permanent error naming
// them; flow-controlled ones a Throttled one: the caller tries again later.
func (o *OpenAPI) SendToUsers(ctx context.Context, users []string, title, text string) error {
	if len(users) == 0 {
		return groupcast.Permanent("no_users", errors.New("no user ids"))
	}
	p, err := o.plan(groupcast.Rendered{Title: title, Text: text, Format: groupcast.TextMarkdown})
	if err != nil {
		return groupcast.Permanent("content", err)
	}
	for start := 0; start < len(users); start += BatchSendUsersMax {
		batch := users[start:min(start+BatchSendUsersMax, len(users))]
		for i, part := range p.parts {
			param, err := p.param(part)
			if err != nil {
				return groupcast.Permanent("content", err)
			}
			req := batchSendRequest{RobotCode: o.robotCode, UserIDs: batch, MsgKey: p.msgKey, MsgParam: param}
			status, body, err := o.authed(ctx, "/v1.0/robot/oToMessages/batchSend", req)
			if err == nil {
				err = decodeBatchSendAnswer(status, body)
			}
			if err != nil {
				return fmt.Errorf("dingtalk openapi %s to users, part %d/%d: %w", o.account, i+1, len(p.parts), err)
			}
		}
	}
	return nil
}

func decodeBatchSendAnswer(status int, body []byte) error {
	if status/100 != 2 {
		return classifyV1("batchSend", status, body)
	}
	var a batchSendAnswer
	if err := json.Unmarshal(body, &a); err != nil || a.ProcessQueryKey == "" {
		return groupcast.Temporary("bad_answer", errors.New("batchSend answer has no processQueryKey"))
	}
	if len(a.InvalidStaffIDList) > 0 {
		return groupcast.Permanent("invalid_user", fmt.Errorf("DingTalk does not know the user ids %s", strings.Join(a.InvalidStaffIDList, ", ")))
	}
	if len(a.FlowControlledStaffIDList) > 0 {
		return groupcast.Throttled("flow_controlled", OpenAPIThrottlePause,
			fmt.Errorf("DingTalk flow-controlled the messages to %s", strings.Join(a.FlowControlledStaffIDList, ", ")))
	}
	return nil
}
