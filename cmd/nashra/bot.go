package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/bot"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/links"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/subscribers"
	"github.com/almaalouma/nashra/telegram"
)

// telegramParts holds the parts of the bot built before the delivery engine,
// which needs the Sender, while the bot itself needs the engine as its
// Outbox: build this, then the engine, then call newBot.
type telegramParts struct {
	api    *telegram.API
	render *telegram.Renderer
	sender *telegram.Sender
}

// newTelegram builds the Bot API client, the post renderer and the Sender
// the dispatcher uses; nil when no token is configured (Telegram off). It
// does not call Telegram.
func newTelegram(cfg *config.Config, log *slog.Logger, link telegram.LinkFunc) *telegramParts {
	if cfg.Telegram.Token == "" {
		return nil
	}
	api := telegram.NewAPI(cfg.Telegram.Token, cfg.Telegram.API, telegram.NewHTTPClient())
	render := telegram.NewRenderer(cfg.Site.Name, cfg.Site.Location, catalog(cfg), link, telegram.WithBreaking(cfg.Delivery.BreakingCategories))
	return &telegramParts{api: api, render: render, sender: telegram.NewSender(api, render, telegram.WithSenderLogger(log))}
}

// newBot builds the bot on top of the delivery engine (its Outbox); opts
// add the editors' controls, the ranking and the email signup. Run the
// result with Run(ctx); in webhook mode mount WebhookHandler() at
// WebhookPath() on the web server. The webhook's secret is derived from
// nashra's secret, so it survives restarts.
func (t *telegramParts) newBot(cfg *config.Config, db *store.DB, subs *subscribers.Service, outbox bot.Outbox, secret []byte, log *slog.Logger,
	opts ...bot.Option) *bot.Bot {
	opts = append([]bot.Option{bot.WithLogger(log), bot.WithWebhookSecret(bot.WebhookSecret(secret))}, opts...)
	return bot.New(cfg, t.api, t.render, db, subs, outbox, opts...)
}

// articleLinks returns nashra's secret and the builder of the (tracked)
// article links signed with it.
func articleLinks(ctx context.Context, cfg *config.Config, db *store.DB) ([]byte, *links.Builder, error) {
	secret, err := masterSecret(ctx, cfg, db)
	if err != nil {
		return nil, nil, err
	}
	signer, err := links.NewSigner(secret)
	if err != nil {
		return nil, nil, err
	}
	return secret, links.NewBuilder(cfg.BaseURL, signer, cfg.Tracking.Enabled), nil
}

// masterSecret is the key every signed link and derived secret comes from:
// NASHRA_SECRET, else one generated on first start and kept in the store.
// It must never change, or every link already sent stops working.
func masterSecret(ctx context.Context, cfg *config.Config, db *store.DB) ([]byte, error) {
	if cfg.Secret != "" {
		return []byte(cfg.Secret), nil
	}
	s, err := db.MetaOrInit(ctx, "secret", func() (string, error) {
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		return hex.EncodeToString(b[:]), nil
	})
	return []byte(s), err
}

// catalog is the configured sections as readers name them.
func catalog(cfg *config.Config) *nashra.Catalog { return nashra.NewCatalog(cfg.SiteSections()) }
