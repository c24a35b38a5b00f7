package bot

import (
	"context"
	"fmt"

	"github.com/almaalouma/nashra/telegram"
)

// cmdDashboard answers an admin, in private, with a one-time link to the
// web dashboard.
func (b *Bot) cmdDashboard(ctx context.Context, r *request) error {
	if b.dashboard == nil {
		return b.reply(ctx, r, txtNotAvailable, nil)
	}
	link, err := b.dashboard.SignInLink(ctx, r.from.ID)
	if err != nil {
		return err
	}
	r.log(b.log).Info("dashboard sign-in link given to admin")
	return b.reply(ctx, r, fmt.Sprintf(txtDashboardLink, telegram.Escape(link), telegram.Escape(link)), nil)
}

// cmdLogoutAll ends every dashboard session of the admin who asks.
func (b *Bot) cmdLogoutAll(ctx context.Context, r *request) error {
	if b.dashboard == nil {
		return b.reply(ctx, r, txtNotAvailable, nil)
	}
	n, err := b.dashboard.SignOutAll(ctx, r.from.ID)
	if err != nil {
		return err
	}
	r.log(b.log).Info("dashboard sessions ended by admin", "sessions", n)
	return b.reply(ctx, r, fmt.Sprintf(txtLoggedOutAll, n), nil)
}
