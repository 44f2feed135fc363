//go:build !race

package jsbus

const raceEnabled = false
