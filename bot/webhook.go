package bot

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra/links"
	"github.com/almaalouma/nashra/outbox"
	"github.com/almaalouma/nashra/telegram"
)

// maxUpdateBytes bounds a webhook request body; updates are a few KB.
const maxUpdateBytes = 1 << 20

// WebhookSecret derives the webhook's secret_token from nashra's secret
// key, so that it survives restarts without being stored. Telegram allows
// 1–256 characters of A–Z, a–z, 0–9, _ and -: hex fits.
func WebhookSecret(secret []byte) string {
	return hex.EncodeToString(links.DeriveKey(secret, "nashra telegram webhook"))
}

// setWebhook registers the webhook URL with its secret, retrying while
// Telegram is unreachable.
func (b *Bot) setWebhook(ctx context.Context) {
	allowed, _ := json.Marshal(allowedUpdates)
	params := tgbotapi.Params{
		"url":             b.cfg.Telegram.WebhookURL,
		"secret_token":    b.webhookSecret,
		"allowed_updates": string(allowed),
		"max_connections": "10",
	}
	for attempt := 1; ; attempt++ {
		_, err := b.api.Call(ctx, "setWebhook", params)
		if err == nil {
			b.log.Info("telegram: webhook set", "path", b.WebhookPath())
			return
		}
		wait := outbox.Backoff(attempt, time.Second, 5*time.Minute)
		b.log.Warn("telegram: setWebhook failed, retrying", "err", err, "in", wait)
		if !outbox.Sleep(ctx, wait) {
			return
		}
	}
}

// WebhookHandler serves Telegram's webhook calls; mount it at WebhookPath.
// It accepts only POSTs carrying the secret token, and answers 200 once an
// update is claimed, so Telegram retries only what was not.
func (b *Bot) WebhookHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		got := r.Header.Get("X-Telegram-Bot-Api-Secret-Token")
		if b.webhookSecret == "" || subtle.ConstantTimeCompare([]byte(got), []byte(b.webhookSecret)) != 1 {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		if b.me().id == 0 {
			// Not connected yet: the bot's own name is unknown, and with it
			// which commands are ours. Telegram will deliver again.
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		var u telegram.Update
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxUpdateBytes)).Decode(&u); err != nil {
			http.Error(w, "bad update", http.StatusBadRequest)
			return
		}
		// Handling goes on if Telegram hangs up: the update is claimed.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 30*time.Second)
		defer cancel()
		if err := b.HandleUpdate(ctx, u); err != nil {
			b.log.Error("telegram: claim update", "update_id", u.UpdateID, "err", err)
			http.Error(w, "retry", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// setCommands publishes the command menu with Arabic descriptions, for
// Arabic clients and as the default for everyone else, and with the admin
// commands added in each admin's own chat.
func (b *Bot) setCommands(ctx context.Context) error {
	for _, lang := range []string{"", "ar"} {
		p := tgbotapi.Params{"commands": commandList(menu)}
		if lang != "" {
			p["language_code"] = lang
		}
		if _, err := b.api.Call(ctx, "setMyCommands", p); err != nil {
			return err
		}
	}
	all := commandList(append(slices.Clone(menu), adminMenu...))
	for _, id := range b.cfg.Admins {
		p := tgbotapi.Params{"commands": all, "scope": `{"type":"chat","chat_id":` + strconv.FormatInt(id, 10) + `}`}
		if _, err := b.api.Call(ctx, "setMyCommands", p); err != nil {
			// An admin who never opened a chat with the bot: no menu yet.
			b.log.Info("telegram: admin command menu", "user_id", id, "err", err)
		}
	}
	return nil
}

// setProfile sets the bot's description, which an empty chat shows before
// /start, and its short description, on its profile and in shared links,
// in Arabic for everyone; the site's name is in both.
func (b *Bot) setProfile(ctx context.Context) error {
	site := b.cfg.Site.Name
	var slugs []string
	for _, s := range b.sections.Sections() {
		slugs = append(slugs, s.Slug)
	}
	for method, p := range map[string]tgbotapi.Params{
		"setMyDescription":      {"description": fmt.Sprintf(txtBotDescription, site, b.sections.Names(slugs), site)},
		"setMyShortDescription": {"short_description": fmt.Sprintf(txtBotShortDescription, site)},
	} {
		if _, err := b.api.Call(ctx, method, p); err != nil {
			return fmt.Errorf("%s: %w", method, err)
		}
	}
	return nil
}

// commandList is the JSON array setMyCommands takes.
func commandList(names []string) string {
	list := make([]tgbotapi.BotCommand, 0, len(names))
	for _, name := range names {
		list = append(list, tgbotapi.BotCommand{Command: name, Description: commands[name].description})
	}
	body, err := json.Marshal(list)
	if err != nil {
		panic(err) // strings always marshal
	}
	return string(body)
}
