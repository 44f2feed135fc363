package miraigo

import (
	"strings"

	"github.com/groupcast/groupcast/configs"
)

// Config is an account of driver miraigo: a QQ account logged in directly
// over the legacy protocol (github.com/Mrs4s/MiraiGo). Prefer onebot.
type Config struct {
	// UIN is the account's QQ number.
	UIN int64 `mapstructure:"uin" required:"true"`
	// Password logs in with the password; empty logs in by QR code (the
	// PNG to scan is written next to device_file).
	Password configs.Secret `mapstructure:"password"`
	// DeviceFile is the emulated device's identity (created on first run)
	// and, with ".session" appended, the saved session. Keep it: a new
	// device triggers risk control.
	DeviceFile string `mapstructure:"device_file" required:"true"`
	// SignServer is the URL of a sign server matching the protocol version
	// (a ?key= query is fine). The server refuses unsigned logins today
	// (code 45), so in practice it is needed.
	SignServer string `mapstructure:"sign_server"`
}

// Check reports values the driver cannot use.
func (c Config) Check() []string {
	var problems []string
	if c.UIN <= 0 || c.UIN > 1<<40 {
		problems = append(problems, "uin: must be the account's QQ number")
	}
	if strings.TrimSpace(c.DeviceFile) == "" {
		problems = append(problems, "device_file: must name the device file (created on first run)")
	}
	if c.SignServer != "" {
		if p := checkSignServer(c.SignServer); p != "" {
			problems = append(problems, p)
		}
	}
	return problems
}
