package glacier

import (
	"math"
	"time"
)

// never stands for a day count too large for the clock: it does not come.
var never = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// after is when an action of `days` days counted from t falls due: t plus
// the days on the accelerated clock, rounded up to the next day boundary,
// as S3 rounds up to the next midnight UTC. Day boundaries are multiples of
// DayLength since the Unix epoch (midnight UTC for a 24h day).
func (s *Server) after(t time.Time, days int64) time.Time {
	day := int64(s.cfg.DayLength)
	if days < 0 || days > (math.MaxInt64/2-t.UnixNano())/day {
		return never
	}
	n := t.UnixNano() + days*day
	if r := n % day; r != 0 {
		n += day - r
	}
	return time.Unix(0, n)
}

// restoreExpiry is when a restored copy made ready at t for `days` days
// goes away: the day boundary after, rounded up to a whole second so that
// the expiry-date of x-amz-restore, which has whole seconds, is exactly when
// the copy goes away.
func (s *Server) restoreExpiry(t time.Time, days int64) time.Time {
	e := s.after(t, days)
	if r := e.Truncate(time.Second); !r.Equal(e) {
		return r.Add(time.Second)
	}
	return e
}
