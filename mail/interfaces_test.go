package mail_test

import (
	"github.com/almaalouma/nashra/dashboard"
	"github.com/almaalouma/nashra/mail"
)

// The dashboard shows and lifts the circuit breaker's pause.
var _ dashboard.Email = (*mail.Sender)(nil)
