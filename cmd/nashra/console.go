package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/almaalouma/nashra/telegram"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/delivery"
)

// consoleSender stands in for Telegram when there is no token: it prints
// each message as a reader would see it, through the same renderer.
type consoleSender struct {
	w      io.Writer
	render *telegram.Renderer
	names  map[int64]string // chat id → what to call it on the console

	mu   sync.Mutex
	next int
}

var _ delivery.Sender = (*consoleSender)(nil)

// print writes one message's visible text.
func (c *consoleSender) print(chatID int64, silent bool, text string) delivery.Sent {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next++
	to := c.names[chatID]
	if to == "" {
		to = fmt.Sprint(chatID)
	}
	note := ""
	if silent {
		note = " (silent)"
	}
	fmt.Fprintf(c.w, "\n  ┌─ to %s%s\n", to, note)
	for line := range strings.SplitSeq(text, "\n") {
		fmt.Fprintf(c.w, "  │ %s\n", line)
	}
	fmt.Fprintln(c.w, "  └─")
	return delivery.Sent{MessageID: c.next}
}

func (c *consoleSender) Post(ctx context.Context, p delivery.Post) (delivery.Sent, error) {
	medium, chat := telegram.Audience(p.Target)
	if len(p.Articles) == 1 {
		return c.print(p.Target.ChatID, p.Target.Silent, telegram.Visible(c.render.PostFor(p.Articles[0], medium, telegram.MaxText, telegram.Why(p.Target)))), nil
	}
	return c.print(p.Target.ChatID, p.Target.Silent, telegram.Visible(c.render.Bundle(p.Articles, p.Reasons, medium, chat))), nil
}

func (c *consoleSender) Reply(ctx context.Context, r delivery.Reply) (delivery.Sent, error) {
	text := r.Params["text"]
	if r.Params["parse_mode"] == "HTML" {
		text = telegram.Visible(text)
	}
	return c.print(r.ChatID, false, text), nil
}

func (c *consoleSender) Edit(ctx context.Context, t delivery.Target, messageID int, caption bool, a nashra.Article) error {
	c.print(t.ChatID, true, "(edited) "+telegram.Visible(c.render.Post(a, nashra.MediumChannel, telegram.MaxText)))
	return nil
}

func (c *consoleSender) Delete(ctx context.Context, chatID int64, messageID int) error {
	c.print(chatID, true, fmt.Sprintf("(message %d deleted)", messageID))
	return nil
}
