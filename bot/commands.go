package bot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/almaalouma/nashra/telegram"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/arabic"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/subscribers"
)

// access says who may run a command.
type access int

const (
	// anyone: reading commands, and those that check rights themselves.
	anyone access = iota
	// admin: nashra's admins, in a private chat with the bot only.
	admin
)

type command struct {
	run    func(b *Bot, ctx context.Context, r *request) error
	access access
	// description is shown in Telegram's command menu: to everyone for
	// the menu's commands, to admins in their own chat for adminMenu's.
	description string
}

// commands are the bot's commands by name. Names are Latin because
// Telegram requires it; everything else is Arabic.
var commands map[string]command

// menu is the order of the command menu; adminMenu follows it in the
// admins' private chats.
var (
	menu      = []string{"start", "subscribe", "unsubscribe", "mysubs", "follow", "follows", "mute", "latest", "top", "digest", "settings", "sections", "email", "stop", "help"}
	adminMenu = []string{"stats", "feeds", "channels", "link", "unlink", "broadcast", "pause", "resume", "cancel", "retract", "held", "release", "senddigest", "dashboard", "logout_all"}
)

func init() {
	// Assigned here because /help and the menu read the table.
	commands = map[string]command{
		"start":       {(*Bot).cmdStart, anyone, "البدء واختيار الأقسام"},
		"help":        {(*Bot).cmdHelp, anyone, "قائمة الأوامر"},
		"sections":    {(*Bot).cmdSections, anyone, "الأقسام المتاحة"},
		"subscribe":   {(*Bot).cmdSubscribe, anyone, "متابعة قسم"},
		"unsubscribe": {(*Bot).cmdUnsubscribe, anyone, "إلغاء متابعة قسم"},
		"mysubs":      {(*Bot).cmdMySubs, anyone, "الأقسام التي تتابعها"},
		"follow":      {(*Bot).cmdFollow, anyone, "متابعة كلمة أو عبارة"},
		"unfollow":    {(*Bot).cmdUnfollow, anyone, "إلغاء متابعة كلمة"},
		"follows":     {(*Bot).cmdFollows, anyone, "الكلمات والوسوم التي تتابعها"},
		"mute":        {(*Bot).cmdMute, anyone, "استبعاد كلمة من أخبار أقسامك"},
		"unmute":      {(*Bot).cmdUnmute, anyone, "إلغاء استبعاد كلمة"},
		"latest":      {(*Bot).cmdLatest, anyone, "أحدث المقالات"},
		"top":         {(*Bot).cmdTop, anyone, "الأكثر متابعة اليوم"},
		"digest":      {(*Bot).cmdDigest, anyone, "النشرة اليومية في تيليجرام"},
		"settings":    {(*Bot).cmdSettings, anyone, "طريقة وصول الأخبار وساعات الهدوء"},
		"email":       {(*Bot).cmdEmail, anyone, "النشرة اليومية بالبريد الإلكتروني"},
		"stop":        {(*Bot).cmdStop, anyone, "إيقاف الاشتراك وحذف بياناتك"},

		"stats":      {(*Bot).cmdStats, admin, "الإحصاءات"},
		"feeds":      {(*Bot).cmdFeeds, admin, "حالة المصادر"},
		"broadcast":  {(*Bot).cmdBroadcast, admin, "رسالة إلى جميع القرّاء"},
		"pause":      {(*Bot).cmdPause, admin, "إيقاف إرسال المقالات مؤقتًا"},
		"resume":     {(*Bot).cmdResume, admin, "استئناف إرسال المقالات"},
		"cancel":     {(*Bot).cmdCancel, admin, "إلغاء ما تبقّى من إرسال مقال"},
		"retract":    {(*Bot).cmdRetract, admin, "سحب مقال وحذف رسائله"},
		"held":       {(*Bot).cmdHeld, admin, "المواد الموقوفة عن الإرسال"},
		"release":    {(*Bot).cmdRelease, admin, "إطلاق مقال موقوف للإرسال"},
		"senddigest": {(*Bot).cmdSendDigest, admin, "إرسال نشرة اليوم الآن"},
		"channels":   {(*Bot).cmdChannels, admin, "القنوات المرتبطة بالأقسام"},
		// Editors, and a channel's own administrators for their channel
		// (checked by the command).
		"link":       {(*Bot).cmdLink, anyone, "ربط قناة بقسم"},
		"unlink":     {(*Bot).cmdUnlink, anyone, "فك ربط قناة بقسم"},
		"dashboard":  {(*Bot).cmdDashboard, admin, "رابط الدخول إلى لوحة التحرير"},
		"logout_all": {(*Bot).cmdLogoutAll, admin, "الخروج من لوحة التحرير في كل المتصفحات"},
	}
}

// command runs a request. An unknown command and an admin command from
// anyone else get the same answer, so that nothing is learnt by trying.
func (b *Bot) command(ctx context.Context, r *request) error {
	c, ok := commands[r.cmd]
	if ok && c.access == admin && !(r.private() && r.from != nil && b.isAdmin(r.from.ID)) {
		ok = false
	}
	if !ok {
		if !r.private() && !r.addressed {
			return nil // in a group, likely meant for another bot
		}
		return b.reply(ctx, r, txtUnknownCommand, nil)
	}
	return c.run(b, ctx, r)
}

// reply queues an answer to a request; in a group it quotes the command.
func (b *Bot) reply(ctx context.Context, r *request, html string, kb *tgbotapi.InlineKeyboardMarkup) error {
	rep := telegram.TextMessage(r.chat.ID, html, kb)
	rep.Merge = cmp.Or(r.cmd, mergeText)
	inTopic(rep.Params, r.thread)
	if !r.private() && r.msg != nil {
		rep = telegram.Quoting(rep, r.msg.MessageID)
	}
	return b.enqueue(ctx, rep)
}

func (b *Bot) cmdStart(ctx context.Context, r *request) error {
	switch arg := r.args; {
	case strings.HasPrefix(arg, "sec_"):
		return b.deepLink(ctx, r, strings.TrimPrefix(arg, "sec_"))
	case arg == "digest" && r.private():
		if ok, err := b.mayChange(ctx, r); !ok || err != nil {
			return err
		}
		c, err := b.ensureChat(ctx, r.chat, r.from)
		if err != nil {
			return err
		}
		return b.setDigest(ctx, r, c, true)
	}
	if r.private() {
		c, err := b.ensureChat(ctx, r.chat, r.from)
		if err != nil {
			return err
		}
		subs, err := b.subs.Subscriptions(ctx, c.ID)
		if err != nil {
			return err
		}
		text := fmt.Sprintf(txtWelcome, telegram.Escape(b.cfg.Site.Name)) + b.quietNote(c.Settings) + "\n\n" + txtChooseFirst
		return b.reply(ctx, r, text, welcomeKeyboard(b.sections, subs, c.Settings))
	}
	subs, err := b.subs.Subscriptions(ctx, r.chat.ID)
	if err != nil {
		return err
	}
	return b.reply(ctx, r, fmt.Sprintf(txtWelcomeGroup, telegram.Escape(b.cfg.Site.Name)), sectionsKeyboard(b.sections, subs))
}

// deepLink follows a "تابع هذا القسم على تيليجرام" link from the site:
// the section is followed at once and the keyboard offers the others.
func (b *Bot) deepLink(ctx context.Context, r *request, slug string) error {
	s, ok := b.sections.Get(slug)
	if !ok {
		return b.noMatch(ctx, r, slug)
	}
	if ok, err := b.mayChange(ctx, r); !ok || err != nil {
		return err
	}
	c, err := b.ensureChat(ctx, r.chat, r.from)
	if err != nil {
		return err
	}
	if _, err := b.subs.Subscribe(ctx, r.chat.ID, []string{s.Slug}); err != nil {
		return err
	}
	subs, err := b.subs.Subscriptions(ctx, r.chat.ID)
	if err != nil {
		return err
	}
	if !r.private() {
		text := plural.GroupFollowNow.Format(1, b.quoted([]string{s.Slug})) + "\n\n" + txtChooseSectionsGroup
		return b.reply(ctx, r, text, sectionsKeyboard(b.sections, subs))
	}
	text := plural.FollowNow.Format(1, b.quoted([]string{s.Slug})) + b.quietNote(c.Settings) + "\n\n" + txtChooseSections
	return b.reply(ctx, r, text, welcomeKeyboard(b.sections, subs, c.Settings))
}

// quietNote tells a reader about their quiet hours, which hold news back
// or silence it at night: a promise of news "as it is published" must not
// hide them. Empty without quiet hours.
func (b *Bot) quietNote(s nashra.ChatSettings) string {
	if s.QuietStart == s.QuietEnd {
		return ""
	}
	what := txtQuietHoldNote
	if s.QuietMode == nashra.QuietSilent {
		what = txtQuietSilentNote
	}
	return "\n\n" + fmt.Sprintf(txtQuietNote, clock(s.QuietStart), clock(s.QuietEnd), arabic.Zone(b.cfg.Site.Location), what)
}

func (b *Bot) cmdHelp(ctx context.Context, r *request) error {
	text := txtHelp
	switch {
	case !r.private():
		text += txtHelpGroup
	case r.from != nil && b.isAdmin(r.from.ID):
		text += txtHelpAdmin
	}
	return b.reply(ctx, r, text, nil)
}

func (b *Bot) cmdSections(ctx context.Context, r *request) error {
	var sb strings.Builder
	sb.WriteString(fmt.Sprintf(txtSectionsHead, telegram.Escape(b.cfg.Site.Name)))
	sb.WriteString("\n")
	for _, s := range b.sections.Sections() {
		sb.WriteString("\n• " + telegram.Escape(s.Name) + " (<code>" + telegram.Escape(s.Slug) + "</code>)")
	}
	sb.WriteString("\n\n" + txtSectionsFoot)
	return b.reply(ctx, r, sb.String(), nil)
}

func (b *Bot) cmdSubscribe(ctx context.Context, r *request) error {
	if r.args == "" {
		return b.showSections(ctx, r)
	}
	slugs, ok, err := b.sectionsArg(ctx, r)
	if !ok || err != nil {
		return err
	}
	if ok, err := b.mayChange(ctx, r); !ok || err != nil {
		return err
	}
	if _, err := b.ensureChat(ctx, r.chat, r.from); err != nil {
		return err
	}
	added, err := b.subs.SubscribeIn(ctx, r.chat.ID, r.thread, slugs)
	if err != nil {
		return err
	}
	if isAll(r.args) {
		if len(added) == 0 {
			return b.reply(ctx, r, txtAllFollowed, nil)
		}
		return b.firstSections(ctx, r, plural.FollowAll.Format(len(slugs)), added)
	}
	var lines []string
	if len(added) > 0 {
		follow := plural.FollowNow
		if !r.private() {
			follow = plural.GroupFollowNow
		}
		lines = append(lines, follow.Format(len(added), b.quoted(added)))
	}
	if had := without(slugs, added); len(had) > 0 {
		lines = append(lines, fmt.Sprintf(txtAlreadyFollowed, b.quoted(had)))
	}
	return b.firstSections(ctx, r, strings.Join(lines, "\n"), added)
}

func (b *Bot) cmdUnsubscribe(ctx context.Context, r *request) error {
	if r.args == "" {
		return b.showSections(ctx, r)
	}
	slugs, ok, err := b.sectionsArg(ctx, r)
	if !ok || err != nil {
		return err
	}
	all := isAll(r.args)
	if all {
		slugs = nil // every section followed, those no longer configured too
	}
	if ok, err := b.mayChange(ctx, r); !ok || err != nil {
		return err
	}
	removed, err := b.subs.Unsubscribe(ctx, r.chat.ID, slugs)
	if err != nil {
		return err
	}
	if all {
		if len(removed) == 0 {
			return b.reply(ctx, r, txtNothingToDrop, nil)
		}
		return b.reply(ctx, r, txtUnsubscribedAll, nil)
	}
	var lines []string
	if len(removed) > 0 {
		lines = append(lines, fmt.Sprintf(txtUnsubscribed, b.quoted(removed)))
	}
	if missing := without(slugs, removed); len(missing) > 0 {
		lines = append(lines, fmt.Sprintf(txtNotFollowed, b.quoted(missing)))
	}
	return b.reply(ctx, r, strings.Join(lines, "\n"), nil)
}

// showSections answers with the keyboard of sections.
func (b *Bot) showSections(ctx context.Context, r *request) error {
	subs, err := b.subs.Subscriptions(ctx, r.chat.ID)
	if err != nil {
		return err
	}
	text := txtChooseSections
	if !r.private() {
		text = txtChooseSectionsGroup
	}
	return b.reply(ctx, r, text, sectionsKeyboard(b.sections, subs))
}

func (b *Bot) cmdMySubs(ctx context.Context, r *request) error {
	subs, err := b.subs.Subscriptions(ctx, r.chat.ID)
	if err != nil {
		return err
	}
	if r.private() {
		return b.reply(ctx, r, plural.MySubs.Format(len(subs), b.quoted(subs)), nil)
	}
	return b.reply(ctx, r, plural.GroupSubs.Format(len(subs), b.quoted(subs)), nil)
}

func (b *Bot) cmdLatest(ctx context.Context, r *request) error {
	heading, slug := txtLatestHead, ""
	if r.args != "" {
		s, ok := b.sections.Match(r.args)
		if !ok {
			return b.noMatch(ctx, r, r.args)
		}
		heading, slug = fmt.Sprintf(txtLatestHeadIn, telegram.Escape(s.Name)), s.Slug
	}
	as, err := b.db.LatestArticles(ctx, slug, telegram.MaxList)
	if err != nil {
		return err
	}
	if len(as) == 0 {
		return b.reply(ctx, r, txtLatestNone, nil)
	}
	text := b.render.List(heading, as, nashra.MediumTelegram, r.privateChat(), true)
	if r.private() && r.from != nil && b.isAdmin(r.from.ID) {
		// Admins need article numbers for /cancel and /retract.
		ids := make([]string, len(as))
		for i, a := range as {
			ids[i] = strconv.FormatInt(a.ID, 10)
		}
		text += "\n\n<code>" + strings.Join(ids, " ") + "</code>"
	}
	return b.reply(ctx, r, text, nil)
}

func (b *Bot) cmdTop(ctx context.Context, r *request) error {
	if b.ranking == nil {
		return b.reply(ctx, r, txtTopNotAvailable, nil)
	}
	as, mostFollowed, err := b.ranking.Top(ctx, "", telegram.MaxList)
	if err != nil {
		return err
	}
	if len(as) == 0 {
		// Nothing new in the ranking's window (after a fresh install, what
		// the site already held is not today's news): the latest, said so.
		if as, err = b.db.LatestArticles(ctx, "", telegram.MaxList); err != nil {
			return err
		}
	}
	if len(as) == 0 {
		return b.reply(ctx, r, txtLatestNone, nil)
	}
	heading := txtTopLatestHead
	if mostFollowed {
		heading = txtTopHead
	}
	return b.reply(ctx, r, b.render.List(heading, as, nashra.MediumTelegram, r.privateChat(), false), nil)
}

func (b *Bot) cmdDigest(ctx context.Context, r *request) error {
	if ok, err := b.mayChange(ctx, r); !ok || err != nil {
		return err
	}
	c, err := b.ensureChat(ctx, r.chat, r.from)
	if err != nil {
		return err
	}
	return b.setDigest(ctx, r, c, !c.Settings.Digest)
}

// setDigest turns the daily Telegram digest on or off for a chat and says
// when it comes.
func (b *Bot) setDigest(ctx context.Context, r *request, c nashra.Chat, on bool) error {
	if _, err := b.subs.SetTelegramDigest(ctx, c, on); err != nil {
		return err
	}
	text := txtDigestOff
	if on {
		text = fmt.Sprintf(txtDigestOn, b.cfg.Digest.Time, arabic.Zone(b.cfg.Site.Location))
	}
	return b.reply(ctx, r, text, nil)
}

func (b *Bot) cmdSettings(ctx context.Context, r *request) error {
	s := nashra.DefaultChatSettings
	switch c, err := b.subs.Chat(ctx, r.chat.ID); {
	case err == nil:
		s = c.Settings
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	text := fmt.Sprintf(txtSettings, b.cfg.Digest.Time, arabic.Zone(b.cfg.Site.Location))
	return b.reply(ctx, r, text, settingsKeyboard(s))
}

func (b *Bot) cmdEmail(ctx context.Context, r *request) error {
	if !r.private() {
		return b.reply(ctx, r, txtEmailPrivateOnly, nil)
	}
	addr := strings.TrimSpace(r.args)
	switch {
	case addr == "":
		return b.reply(ctx, r, txtEmailUsage, nil)
	case b.email == nil:
		return b.reply(ctx, r, txtEmailUnavailable, nil)
	}
	subs, err := b.subs.Subscriptions(ctx, r.chat.ID)
	if err != nil {
		return err
	}
	err = b.email.RequestSignup(ctx, subscribers.Requester{TelegramUser: r.chat.ID}, addr, subs)
	var bad *subscribers.AddressError
	switch {
	case errors.As(err, &bad):
		return b.reply(ctx, r, txtEmailInvalid, nil)
	case errors.Is(err, subscribers.ErrTooManySignups):
		return b.reply(ctx, r, txtEmailTooMany, nil)
	case err != nil:
		r.log(b.log).Warn("email signup failed", "err", err)
		return b.reply(ctx, r, txtEmailFailed, nil)
	}
	return b.reply(ctx, r, txtEmailSent, nil)
}

func (b *Bot) cmdStop(ctx context.Context, r *request) error {
	if ok, err := b.mayChange(ctx, r); !ok || err != nil {
		return err
	}
	if r.from == nil {
		return nil // an anonymous administrator cannot press the button
	}
	// Everything goes, so it is asked first; the one who asked confirms.
	token := b.pending.add(pendingAction{kind: actStop, admin: r.from.ID, chatID: r.chat.ID}, b.now())
	text := txtStopConfirm
	if !r.private() {
		text = txtStopConfirmGroup
	}
	return b.reply(ctx, r, text, stopKeyboard(token))
}

// stop forgets a chat, as its confirmed /stop asks.
func (b *Bot) stop(ctx context.Context, chat *tgbotapi.Chat) (string, error) {
	if err := b.subs.ForgetChat(ctx, chat.ID); err != nil {
		return "", err
	}
	b.members.forgetChat(chat.ID)
	b.log.Info("chat stopped and deleted", "chat_id", chat.ID)
	if chat.Type == "private" {
		return txtStopped, nil
	}
	return txtStoppedGroup, nil
}

// hint answers a plain message in a private chat: a section's name gets a
// suggestion to follow it, anything else a pointer to /start.
func (b *Bot) hint(ctx context.Context, m *tgbotapi.Message) error {
	r := &request{chat: m.Chat, msg: m, from: m.From}
	// A reader who floods the bot with text gets a few hints, then none.
	if n, err := b.db.CountReplies(ctx, m.Chat.ID, mergeText, b.now().Add(-textBudgetWindow)); err != nil {
		return err
	} else if n >= textBudget {
		return nil
	}
	if s, ok := b.sections.Match(m.Text); ok {
		return b.reply(ctx, r, fmt.Sprintf(txtHintSection, telegram.Escape(s.Name), telegram.Escape(s.Name)), nil)
	}
	return b.reply(ctx, r, txtHint, nil)
}

// sectionsArg reads the sections named in a command's arguments: one
// name, several separated by commas or spaces, or every section for "الكل"
// and its synonyms. When one is unknown it answers with the list of
// sections and reports ok false.
func (b *Bot) sectionsArg(ctx context.Context, r *request) (slugs []string, ok bool, err error) {
	if isAll(r.args) {
		for _, s := range b.sections.Sections() {
			slugs = append(slugs, s.Slug)
		}
		return slugs, true, nil
	}
	if s, found := b.sections.Match(r.args); found {
		return []string{s.Slug}, true, nil
	}
	parts := strings.FieldsFunc(r.args, func(c rune) bool { return c == ',' || c == '،' })
	if len(parts) <= 1 {
		parts = strings.Fields(r.args)
	}
	for _, p := range parts {
		s, found := b.sections.Match(p)
		if !found {
			return nil, false, b.noMatch(ctx, r, p)
		}
		if !slices.Contains(slugs, s.Slug) {
			slugs = append(slugs, s.Slug)
		}
	}
	return slugs, len(slugs) > 0, nil
}

// noMatch answers a section name that matched nothing with the list of
// sections and an example.
func (b *Bot) noMatch(ctx context.Context, r *request, input string) error {
	secs := b.sections.Sections()
	names := make([]string, len(secs))
	for i, s := range secs {
		names[i] = telegram.Escape(s.Name)
	}
	example := ""
	if len(secs) > 0 {
		example = telegram.Escape(secs[0].Name)
	}
	input = telegram.Cut(arabic.CleanLine(input), 40)
	return b.reply(ctx, r, fmt.Sprintf(txtNoMatch, telegram.Escape(input), strings.Join(names, "، "), example), nil)
}

// names returns the Arabic names of sections, HTML-escaped.
func (b *Bot) names(slugs []string) string {
	return telegram.Escape(b.sections.Names(slugs))
}

// quoted returns section names in guillemets, joined with «و» as Arabic
// joins a list: «أخبار» و«مقالات» و«تقارير».
func (b *Bot) quoted(slugs []string) string {
	var out []string
	for _, slug := range slugs {
		if s, ok := b.sections.Get(slug); ok {
			out = append(out, "«"+telegram.Escape(s.Name)+"»")
		}
	}
	return strings.Join(out, " و")
}

// isAll reports whether a reader meant every section.
func isAll(s string) bool {
	switch arabic.Normalize(s) {
	case "all", "الكل", "كل", "الجميع", "جميع", "كلها", "كل الاقسام", "جميع الاقسام":
		return true
	}
	return false
}

func without(xs, drop []string) []string {
	var out []string
	for _, x := range xs {
		if !slices.Contains(drop, x) {
			out = append(out, x)
		}
	}
	return out
}
