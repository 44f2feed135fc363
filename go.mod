module github.com/groupcast/groupcast

go 1.26.0

require (
	github.com/Mrs4s/MiraiGo v0.0.0-20240226124653-54bdd873e3fe // qq miraigo driver (legacy, unmaintained upstream: see docs/platforms.md)
	github.com/ThreeDotsLabs/watermill v1.5.1 // router only; its NATS Pub/Sub is our own (router/jetstream.go), not watermill-nats
	github.com/eatmoreapple/openwechat v1.4.10
	github.com/fsnotify/fsnotify v1.10.1
	github.com/go-viper/mapstructure/v2 v2.5.0
	github.com/gorilla/websocket v1.5.3 // the fake DingTalk stream gateway in tests (the SDK uses it too)
	github.com/mdp/qrterminal/v3 v3.2.1 // groupcast login wechat: the QR code in the terminal (half blocks fit 80x24)
	github.com/nats-io/jwt/v2 v2.8.2 // store tests: operator-mode credentials for the creds test
	github.com/nats-io/nats-server/v2 v2.15.2 // the embedded store: JetStream in-process, no port (needs Go 1.26)
	github.com/nats-io/nats.go v1.55.0
	github.com/nats-io/nkeys v0.4.16 // store tests: an nkey user for the connection test
	github.com/oklog/ulid/v2 v2.1.2
	github.com/open-dingtalk/dingtalk-stream-sdk-go v0.9.2-beta.1 // not v0.9.1: it panics on reconnect
	github.com/prometheus/client_golang v1.25.0
	github.com/rivo/uniseg v0.4.7 // grapheme clusters and emoji properties for splitting and the formal style
	github.com/robfig/cron/v3 v3.0.1 // schedule: parses cron expressions (the wall-clock walk and its DST rules are schedule/cron.go)
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.2 // tests only: checks example.yaml against docs/groupcast.schema.json (draft 2020-12, maintained, no cgo)
	github.com/spf13/cobra v1.10.2
	github.com/spf13/viper v1.21.0
	github.com/yuin/goldmark v1.8.7
	golang.org/x/term v0.47.0 // send/recall --wait: redraw progress in place on a terminal, plain lines otherwise
	golang.org/x/time v0.16.0 // the intake rate limit (server.intake_per_second)
	gopkg.in/yaml.v3 v3.0.1
	rsc.io/qr v0.2.0 // decodes the drawn QR code back in the login test
)

require (
	github.com/chromedp/cdproto v0.159.0 // tests only: the protocol types chromedp's actions take (log, page, runtime events)
	github.com/chromedp/chromedp v0.23.0 // tests only: the console's browser test drives headless Chromium
)

require (
	github.com/RomiChan/protobuf v0.1.1-0.20230204044148-2ed269a2e54d // indirect
	github.com/RomiChan/syncx v0.0.0-20220404072119-d7ea0ae15a4c // indirect
	github.com/antithesishq/antithesis-sdk-go v0.8.0-default-no-op // indirect
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/fumiama/imgsz v0.0.2 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/google/go-tpm v0.9.8 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/klauspost/compress v1.20.3 // indirect
	github.com/lithammer/shortuuid/v3 v3.0.7 // indirect
	github.com/minio/highwayhash v1.0.4 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/nats-io/nuid v1.0.1 // indirect
	github.com/oklog/ulid v1.3.1 // indirect
	github.com/pelletier/go-toml/v2 v2.2.4 // indirect
	github.com/pierrec/lz4/v4 v4.1.15 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	github.com/prometheus/client_model v0.6.3 // indirect
	github.com/prometheus/common v0.72.0 // indirect
	github.com/prometheus/procfs v0.22.0 // indirect
	github.com/sagikazarmark/locafero v0.11.0 // indirect
	github.com/sourcegraph/conc v0.3.1-0.20240121214520-5f936abd7ae8 // indirect
	github.com/spf13/afero v1.15.0 // indirect
	github.com/spf13/cast v1.10.0 // indirect
	github.com/spf13/pflag v1.0.10 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	github.com/subosito/gotenv v1.6.0 // indirect
	github.com/tidwall/gjson v1.14.3 // indirect
	github.com/tidwall/match v1.1.1 // indirect
	github.com/tidwall/pretty v1.2.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
