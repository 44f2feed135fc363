//go:build race

package jsbus

const raceEnabled = true
