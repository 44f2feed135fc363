package tracking

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
)

// CodeLen is the length of every code: 12 base62 characters, about 70
// bits.
const CodeLen = 12

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Code is the code of one link of one target of one announcement under
// secret: the same inputs always give the same code.
func Code(secret []byte, announcement, target, url string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(announcement))
	m.Write([]byte{0})
	m.Write([]byte(target))
	m.Write([]byte{0})
	m.Write([]byte(url))
	sum := m.Sum(nil)
	var out [CodeLen]byte
	// 64 bits give 11 base62 digits (62^11 > 2^64), one more byte the 12th.
	n := binary.BigEndian.Uint64(sum[:8])
	for i := CodeLen - 2; i >= 0; i-- {
		out[i] = base62[n%62]
		n /= 62
	}
	out[CodeLen-1] = base62[int(sum[8])%62]
	return string(out[:])
}

// ParseCode reads the code of a /l/{code} path segment: exactly CodeLen
// base62 characters, or false.
func ParseCode(s string) (string, bool) {
	if len(s) != CodeLen {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return "", false
		}
	}
	return s, true
}
