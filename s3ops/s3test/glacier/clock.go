package glacier

import (
	"context"
	"errors"
	"math"
	"sync/atomic"
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

// Clock is a lifecycle clock that a test moves on instead of waiting: it
// reads real time plus every Advance so far. It keeps running with real
// time because the server stamps objects (LastModified) with its own
// clock; a test that makes the layer's days long (an hour, say) and
// advances them sees transitions, restores and expiries happen when it
// advances the clock and not before. Safe for concurrent use.
type Clock struct{ offset atomic.Int64 }

// NewClock returns a clock that reads real time until it is advanced.
func NewClock() *Clock { return &Clock{} }

// Now is real time plus the clock's advances.
func (c *Clock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// Set moves the clock, on or back, so that it reads t now.
func (c *Clock) Set(t time.Time) { c.offset.Store(int64(time.Until(t))) }

// Advance moves the layer's clock (Config.Clock) on by d and then sweeps,
// as S3's lifecycle would have run in those days: the transitions and
// expirations due by then are done, and the restores due by then are ready,
// when it returns. A layer on real time (no Config.Clock) cannot be moved.
func (s *Server) Advance(ctx context.Context, d time.Duration) error {
	if s.cfg.Clock == nil {
		return errors.New("advance the glacier layer's clock: the layer runs on real time; give it a Config.Clock")
	}
	s.cfg.Clock.Advance(d)
	return s.Sweep(ctx)
}

// Now is the time on the layer's clock, for a client that must agree with
// it (as hosts and S3 agree on real time).
func (s *Server) Now() time.Time { return s.now() }
