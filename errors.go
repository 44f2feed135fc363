package groupcast

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Class says what the router should do with a failed send.
type Class int

const (
	// ClassTemporary: retry with exponential backoff until max_attempts.
	ClassTemporary Class = iota
	// ClassThrottled: the platform said "too fast". Pause the account for the
	// given time and defer its targets; this never counts as a failed attempt.
	ClassThrottled
	// ClassPermanent: retrying cannot help (bad token, bad signature, unknown
	// group, content refused). The target ends failed with the code.
	ClassPermanent
)

func (c Class) String() string {
	switch c {
	case ClassThrottled:
		return "throttled"
	case ClassPermanent:
		return "permanent"
	default:
		return "temporary"
	}
}

// DeliveryError is a classified failure returned by a driver. Code is the
// platform's own error code where it gave one ("130101", "http_503", …).
type DeliveryError struct {
	Class Class
	Code  string
	Pause time.Duration // ClassThrottled only: how long the account should rest
	Err   error
}

func (e *DeliveryError) Error() string {
	msg := "<nil>"
	if e.Err != nil {
		msg = e.Err.Error()
	}
	if e.Code != "" {
		return fmt.Sprintf("%s (%s): %s", e.Class, e.Code, msg)
	}
	return fmt.Sprintf("%s: %s", e.Class, msg)
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// Temporary marks err as retryable (network errors, 5xx, timeouts).
func Temporary(code string, err error) error {
	return &DeliveryError{Class: ClassTemporary, Code: code, Err: err}
}

// Throttled marks err as a platform rate-limit answer: pause the account for
// pause and defer, never fail.
func Throttled(code string, pause time.Duration, err error) error {
	return &DeliveryError{Class: ClassThrottled, Code: code, Pause: pause, Err: err}
}

// Permanent marks err as final: the target ends failed with code.
func Permanent(code string, err error) error {
	return &DeliveryError{Class: ClassPermanent, Code: code, Err: err}
}

// Classify reads the class of err. Errors a driver did not classify are
// temporary: retries are bounded by max_attempts, so an unknown failure is
// retried a few times rather than dropped at once.
func Classify(err error) (class Class, code string, pause time.Duration) {
	var de *DeliveryError
	if errors.As(err, &de) {
		return de.Class, de.Code, de.Pause
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return ClassTemporary, "timeout", 0
	}
	return ClassTemporary, "", 0
}

// FieldError is bad input that names the field at fault, as
// "links[1].url: not an absolute http(s) URL".
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// InputError is bad input of one of the kinds the HTTP API answers with
// 400 (malformed or invalid) or 422 (valid but unacceptable). It carries
// every FieldError found, the first of which names the field in the answer.
type InputError struct {
	Code   string // "malformed", "invalid", "no_route", …
	Fields []*FieldError
}

func (e *InputError) Error() string {
	if len(e.Fields) == 0 {
		return e.Code
	}
	errs := make([]error, len(e.Fields))
	for i, f := range e.Fields {
		errs[i] = f
	}
	return errors.Join(errs...).Error()
}

// Field names the first field at fault, or "".
func (e *InputError) Field() string {
	if len(e.Fields) == 0 {
		return ""
	}
	return e.Fields[0].Field
}

// ErrRecallUnsupported is wrapped by a Recaller that cannot take back a
// message; the target stays delivered with reason "recall_unsupported: …".
var ErrRecallUnsupported = errors.New("recall_unsupported")
