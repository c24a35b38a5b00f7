package arabic

import "time"

// Zone says in which time zone a local time is given, as readers are told:
// "بتوقيت بغداد", "بالتوقيت العالمي", else "بتوقيت" and the zone's IANA name.
func Zone(loc *time.Location) string {
	switch loc.String() {
	case "Asia/Baghdad":
		return "بتوقيت بغداد"
	case "UTC":
		return "بالتوقيت العالمي"
	}
	return "بتوقيت " + loc.String()
}
