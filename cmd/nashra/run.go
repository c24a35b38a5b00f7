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

	"github.com/almaalouma/nashra/bot"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/delivery"
	"github.com/almaalouma/nashra/feeds"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/web"
)

// Main is the running service: everything `nashra run` starts, so that an
// end-to-end test can start the whole program on port 0 and stop it.
type Main struct {
	cfg    *config.Config
	log    *slog.Logger
	db     *store.DB
	reg    *prometheus.Registry
	poller *feeds.Poller
	sched  gocron.Scheduler
	web    *web.Server
	// engine and bot are nil when Telegram is off (no token).
	engine *delivery.Engine
	bot    *bot.Bot

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewMain opens the store and builds every part; Start runs them.
func NewMain(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Main, error) {
	db, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	m := &Main{cfg: cfg, log: log, db: db, reg: prometheus.NewRegistry()}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if m.poller, err = feeds.NewPoller(db, feedsConfig(cfg), m.reg, log); err != nil {
		db.Close()
		return nil, err
	}
	m.web = web.New(web.Options{Addr: cfg.HTTPAddr, MetricsAddr: cfg.MetricsAddr, Store: db, Gatherer: m.reg, Logger: log})
	if tg := newTelegram(cfg, log); tg != nil {
		if m.engine, err = delivery.New(deliveryConfig(cfg), db, tg.sender, nil, log, m.reg); err != nil {
			db.Close()
			return nil, err
		}
		if m.bot, err = tg.newBot(ctx, cfg, db, m.engine, log, bot.WithControls(m.engine)); err != nil {
			db.Close()
			return nil, err
		}
		if cfg.Telegram.WebhookURL != "" {
			m.web.Handle(m.bot.WebhookPath(), m.bot.WebhookHandler())
		}
	}
	return m, nil
}

// deliveryConfig hands the delivery engine its part of the configuration.
func deliveryConfig(cfg *config.Config) delivery.Config {
	d := delivery.DefaultConfig()
	l, c := cfg.Telegram.Limits, cfg.Delivery
	d.GlobalPerSecond, d.ChatPerSecond, d.GroupPerMinute = l.GlobalPerSecond, l.ChatPerSecond, l.GroupPerMinute
	d.Concurrency = c.Concurrency
	d.StaleAfter = c.StaleAfter.D()
	d.MaxAttempts = c.MaxAttempts
	d.BreakingCategories = c.BreakingCategories
	d.NeverPush = cfg.Poll.ExcludeCategories
	d.BundleMax = c.BundleMax
	d.CorrectionWindow = c.CorrectionWindow.D()
	d.EditReaders = c.EditReaders
	d.Retention = c.Retention.D()
	d.Location = cfg.Site.Location
	return d
}

// feedsConfig hands the poller its part of the configuration.
func feedsConfig(cfg *config.Config) feeds.Config {
	p := cfg.Poll
	return feeds.Config{
		Interval:          p.Interval.D(),
		MinInterval:       p.MinInterval.D(),
		MaxInterval:       p.MaxInterval.D(),
		Timeout:           p.Timeout.D(),
		MaxBodyBytes:      p.MaxBodyBytes,
		Workers:           p.Workers,
		UserAgent:         "nashra/" + version + " (+https://github.com/almaalouma/nashra)",
		StaleAfter:        p.StaleAfter.D(),
		FailingAlertAfter: p.FailingAlertAfter.D(),
		ExcludeCategories: p.ExcludeCategories,
		GenericAuthors:    p.GenericAuthors,
		FloodGuard:        feeds.FloodGuard{MinItems: p.FloodGuard.MinItems, Action: p.FloodGuard.Action, Latest: p.FloodGuard.Latest},
	}
}

// Start starts the web server and the scheduler.
func (m *Main) Start(ctx context.Context) error {
	if err := m.web.Start(); err != nil {
		return err
	}
	sched, err := gocron.NewScheduler(gocron.WithLocation(m.cfg.Site.Location), gocron.WithLogger(gocronLogger{m.log}))
	if err != nil {
		return fmt.Errorf("start scheduler: %w", err)
	}
	m.sched = sched
	if _, err := m.poller.Register(sched); err != nil {
		return err
	}
	sched.Start()
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel = cancel
	if m.engine != nil {
		m.wg.Go(func() {
			if err := m.engine.Run(runCtx); err != nil {
				m.log.Error("delivery engine stopped", "err", err)
			}
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
	errs = append(errs, m.web.Shutdown(ctx), m.db.Close())
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
