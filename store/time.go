package store

import (
	"database/sql/driver"
	"fmt"
	"time"
)

// msTime stores a time as Unix milliseconds, the zero time as NULL.
type msTime struct{ t *time.Time }

func (m msTime) Value() (driver.Value, error) {
	if m.t == nil || m.t.IsZero() {
		return nil, nil
	}
	return m.t.UnixMilli(), nil
}

func (m msTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*m.t = time.Time{}
	case int64:
		*m.t = time.UnixMilli(v).UTC()
	default:
		return fmt.Errorf("scan time: unexpected %T", src)
	}
	return nil
}

// ms wraps a time for use as a query argument or scan destination.
func ms(t *time.Time) msTime { return msTime{t: t} }
