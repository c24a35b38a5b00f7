package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/bot"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/dashboard"
	"github.com/almaalouma/nashra/delivery"
	"github.com/almaalouma/nashra/digest"
	"github.com/almaalouma/nashra/feeds"
	"github.com/almaalouma/nashra/feeds/websub"
	"github.com/almaalouma/nashra/mail"
	"github.com/almaalouma/nashra/outbox"
	"github.com/almaalouma/nashra/ranking"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/subscribers"
	"github.com/almaalouma/nashra/web"
)

// Main is the running service: everything `nashra run` starts, so that an
// end-to-end test can start the whole program on port 0 and stop it.
type Main struct {
	cfg     *config.Config
	log     *slog.Logger
	db      *store.DB
	reg     *prometheus.Registry
	poller  *feeds.Poller
	sched   gocron.Scheduler
	web     *web.Server
	tracker *web.Tracker
	ranker  *ranking.Ranker
	// leader decides which of the instances sharing the store polls, runs
	// the scheduled jobs and talks to Telegram; every instance serves the
	// web.
	leader *leader
	subs   *subscribers.Service
	digest *digest.Service
	mail   *mail.Sender
	// engine and bot are nil when Telegram is off (no token).
	engine *delivery.Engine
	bot    *bot.Bot
	// websub is nil when websub.enabled is off.
	websub    *websub.Subscriber
	dashboard *dashboard.Dashboard

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewMain opens the store and builds every part; Start runs them.
func NewMain(ctx context.Context, cfg *config.Config, log *slog.Logger) (_ *Main, err error) {
	db, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			db.Close()
		}
	}()
	m := &Main{cfg: cfg, log: log, db: db, reg: prometheus.NewRegistry()}
	instance := outbox.NewHolder()
	m.leader = newLeader(db, instance, cfg.LeaseDuration.D(), log)
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if m.poller, err = feeds.NewPoller(db, cfg, m.reg, log); err != nil {
		return nil, err
	}
	m.web = web.New(web.Options{Addr: cfg.HTTPAddr, MetricsAddr: cfg.MetricsAddr, Store: db, Gatherer: m.reg, Logger: log})
	if err := m.wirePush(cfg, log); err != nil {
		return nil, err
	}

	secret, tracked, err := articleLinks(ctx, cfg, db)
	if err != nil {
		return nil, err
	}
	m.tracker, err = web.NewTracker(cfg, secret, db, web.WithTrackerLogger(log), web.WithTrackerMetrics(m.reg))
	if err != nil {
		return nil, err
	}
	m.tracker.Register(m.web)
	m.ranker = ranking.New(cfg, db, ranking.WithLogger(log))

	// A signup's mail wakes the mail sender, built below: signups only
	// come once the parts run.
	m.subs = subscribers.New(cfg, db, catalog(cfg), subscribers.WithLogger(log),
		subscribers.WithMailQueued(func() { m.mail.Notify() }))
	if err := m.subs.RegisterMetrics(m.reg); err != nil {
		return nil, err
	}
	tg := newTelegram(cfg, log, tracked.Post)
	if tg != nil {
		if m.engine, err = delivery.New(cfg, instance, db, tg.sender, nil, log, m.reg); err != nil {
			return nil, err
		}
		m.engine.SetFollowers(m.subs)
		m.poller.OnNew = m.engine.Notify
	}
	if m.digest, m.mail, err = newDigest(cfg, instance, db, m.subs, secret, tracked, m.ranker, tg != nil, log, m.reg); err != nil {
		return nil, err
	}
	if m.engine != nil {
		// The Telegram digest is queued for the dispatcher, which has it
		// rendered for each chat as it goes out.
		m.engine.SetRenderer(nashra.MethodDigest, m.digest)
	}
	pages, err := emailPages(cfg, m.subs, m.digest, secret, log)
	if err != nil {
		return nil, err
	}
	pages.Register(m.web)
	// The editors' dashboard works without Telegram too (admins then sign
	// in on another instance's link): its controls act on the store.
	var notify func()
	var controls dashboard.Delivery = delivery.NewControls(db, nil)
	if m.engine != nil {
		notify, controls = m.engine.Notify, m.engine
	}
	guard := feeds.NewFloodGuard(db, notify)
	m.dashboard = dashboard.New(dashboard.Options{Config: cfg, Store: db, Delivery: controls, FloodGuard: guard,
		Ranking: m.ranker, Email: m.mail, Registry: m.reg, Logger: log})
	m.dashboard.Register(m.web)
	if tg != nil {
		opts := []bot.Option{bot.WithControls(m.engine), bot.WithRanking(m.ranker),
			bot.WithEmailSignup(m.subs), bot.WithDigest(m.digest), bot.WithLeadership(m.leader),
			bot.WithFloodGuard(guard), bot.WithDashboard(m.dashboard)}
		if m.websub != nil {
			opts = append(opts, bot.WithFeeding(m.websub))
		}
		m.bot = tg.newBot(cfg, db, m.subs, m.engine, secret, log, opts...)
		m.engine.SetTopicGone(m.bot.TopicGone)
		if cfg.Telegram.WebhookURL != "" {
			m.web.Handle(m.bot.WebhookPath(), m.bot.WebhookHandler())
		}
	}
	return m, nil
}

// userAgent names nashra to the site it reads.
func userAgent() string { return "nashra/" + version + " (+https://github.com/almaalouma/nashra)" }

// Start starts the web server and the scheduler.
func (m *Main) Start(ctx context.Context) error {
	if err := m.web.Start(); err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel = cancel
	// Lead at once when no other instance does, so that the first poll,
	// due at start, runs here.
	m.wg.Go(func() { m.leader.Run(runCtx) })
	m.leader.started(runCtx)
	// Jobs run on the leader only.
	sched, err := gocron.NewScheduler(gocron.WithLocation(m.cfg.Site.Location), gocron.WithLogger(gocronLogger{m.log}),
		gocron.WithDistributedElector(m.leader))
	if err != nil {
		return fmt.Errorf("start scheduler: %w", err)
	}
	m.sched = sched
	if _, err := m.poller.Register(sched); err != nil {
		return err
	}
	if _, err := m.ranker.Register(sched); err != nil {
		return err
	}
	if err := m.digest.Register(sched); err != nil {
		return err
	}
	if err := m.subs.Register(sched); err != nil {
		return err
	}
	m.tracker.Start()
	m.startPush(runCtx)
	// The email sender holds its own lease in the store, so every instance
	// may run it: one sends, the others wait to take over.
	m.wg.Go(func() {
		if err := m.mail.Run(runCtx); err != nil {
			m.log.Error("email sender stopped", "err", err)
		}
	})
	sched.Start()
	if m.engine != nil {
		// Every instance keeps the follows in memory: whichever leads
		// fans out.
		if err := m.subs.LoadFollows(runCtx); err != nil {
			return err
		}
		m.wg.Go(func() { m.subs.RunFollowSync(runCtx, time.Second) })
		m.wg.Go(func() {
			m.leader.Lead(runCtx, func(ctx context.Context) {
				if err := m.engine.Run(ctx); err != nil {
					m.log.Error("delivery engine stopped", "err", err)
				}
			})
		})
		m.wg.Go(func() {
			if err := m.bot.Run(runCtx); err != nil {
				m.log.Error("bot stopped", "err", err)
			}
		})
	}
	m.log.Info("nashra running", "version", version, "http", m.Addr().String(), "sections", len(m.cfg.Sections),
		"telegram", m.cfg.Telegram.Token != "", "config", cmp.Or(m.cfg.File, "built-in defaults"))
	return nil
}

// Addr is the web server's address.
func (m *Main) Addr() net.Addr { return m.web.Addrs()[0] }

// Close stops the scheduler (waiting for a running poll), the bot and the
// delivery engine (which finishes or releases the sends in flight), the web
// server and the store.
func (m *Main) Close(ctx context.Context) error {
	var errs []error
	if m.sched != nil {
		errs = append(errs, m.sched.Shutdown())
	}
	if m.cancel != nil {
		m.cancel()
	}
	m.wg.Wait()
	if m.mail != nil {
		m.mail.Close()
	}
	// The web server first, so that no click arrives after the tracker's
	// last batch is written.
	errs = append(errs, m.web.Shutdown(ctx), m.tracker.Close(ctx), m.db.Close())
	return errors.Join(errs...)
}

func cmdRun(ctx context.Context, env *cliEnv, args []string) error {
	if err := parse(flags(env, "run"), args, 0); err != nil {
		return err
	}
	cfg, log, err := loadConfig(env)
	if err != nil {
		return err
	}
	m, err := NewMain(ctx, cfg, log)
	if err != nil {
		return err
	}
	if err := m.Start(ctx); err != nil {
		m.Close(context.Background())
		return err
	}
	<-ctx.Done()
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return m.Close(sctx)
}

// gocronLogger routes gocron's own messages to slog.
type gocronLogger struct{ log *slog.Logger }

func (l gocronLogger) Debug(msg string, args ...any) { l.log.Debug(msg, args...) }
func (l gocronLogger) Info(msg string, args ...any)  { l.log.Debug(msg, args...) }
func (l gocronLogger) Warn(msg string, args ...any)  { l.log.Warn(msg, args...) }
func (l gocronLogger) Error(msg string, args ...any) { l.log.Error(msg, args...) }
