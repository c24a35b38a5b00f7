package telegramtest

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// GroupAnonymousBotID is the user Telegram puts in "from" of messages an
// anonymous group administrator sends; sender_chat then holds the group.
const GroupAnonymousBotID = 1087968824

var groupAnonymousBot = wireUser{ID: GroupAnonymousBotID, IsBot: true, FirstName: "Group", Username: "GroupAnonymousBot"}

type user struct {
	info        wireUser
	deactivated bool
}

// chat is a chat the fake knows. A private chat exists once its user has
// started the bot; its id is the user's id.
type chat struct {
	info    wireChat
	bot     tgbotapi.ChatMember // the bot's membership; "kicked" in a private chat means blocked
	members map[int64]tgbotapi.ChatMember
	// subscribers is what getChatMemberCount answers for a channel, whose
	// subscribers the fake does not model one by one; 0: count members.
	subscribers int
	migratedTo  int64
	lastMsgID   int
	messages    map[int]*storedMessage
	topics      map[int64]*topic // forum topics by thread id
	// generalClosed: the forum's general topic is closed to messages.
	generalClosed bool
}

// storedMessage is a message in a chat, the bot's or a user's.
type storedMessage struct {
	msg     wireMessage
	fromBot bool
	record  *Record // the bot's messages only
	deleted bool
}

func newChat(info wireChat, bot tgbotapi.ChatMember) *chat {
	return &chat{info: info, bot: bot, members: map[int64]tgbotapi.ChatMember{}, messages: map[int]*storedMessage{}}
}

// AddUser registers a user who has started the bot, which opens the private
// chat whose id is the user's id. A zero ID is replaced by a fresh one and
// an empty first name by "User <id>". Registering a known user again
// updates their profile.
func (s *Server) AddUser(u tgbotapi.User) tgbotapi.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.registerUser(u)
	if s.chats[w.ID] == nil {
		s.chats[w.ID] = newChat(
			wireChat{ID: w.ID, Type: "private", FirstName: w.FirstName, LastName: w.LastName, Username: w.Username},
			tgbotapi.ChatMember{Status: "member"})
	}
	return w.api()
}

func (s *Server) registerUser(u tgbotapi.User) wireUser {
	if u.ID == 0 {
		s.lastID++
		u.ID = 100000000 + s.lastID
	}
	if u.FirstName == "" {
		u.FirstName = fmt.Sprintf("User %d", u.ID)
	}
	w := userToWire(u)
	if old := s.users[u.ID]; old != nil {
		old.info = w
	} else {
		s.users[u.ID] = &user{info: w}
	}
	return w
}

// AddChat registers a group, supergroup or channel (Type "group",
// "supergroup" or "channel"; private chats come from AddUser). A zero ID is
// replaced by a fresh negative id (-100… for supergroups and channels); a
// given ID must be negative. UserName (with or without '@') makes a
// supergroup or channel reachable as chat_id "@username". The bot starts as
// a member of groups and as an administrator allowed to post, edit and
// delete in channels; change that with SetBotMember.
func (s *Server) AddChat(c tgbotapi.Chat) tgbotapi.Chat {
	s.mu.Lock()
	defer s.mu.Unlock()
	bot := tgbotapi.ChatMember{Status: "member"}
	switch c.Type {
	case "group", "supergroup":
	case "channel":
		bot = tgbotapi.ChatMember{Status: "administrator", CanManageChat: true,
			CanPostMessages: true, CanEditMessages: true, CanDeleteMessages: true}
	default:
		panic(fmt.Sprintf("telegramtest: AddChat: chat type %q is not group, supergroup or channel", c.Type))
	}
	if c.ID > 0 {
		panic(fmt.Sprintf("telegramtest: AddChat: chat id %d of a %s must be negative", c.ID, c.Type))
	}
	if c.ID == 0 {
		c.ID = s.newChatID(c.Type)
	}
	if c.Title == "" {
		c.Title = fmt.Sprintf("Chat %d", c.ID)
	}
	c.UserName = strings.TrimPrefix(c.UserName, "@")
	if c.UserName != "" {
		if c.Type == "group" {
			panic("telegramtest: AddChat: basic groups have no username")
		}
		s.usernames[strings.ToLower(c.UserName)] = c.ID
	}
	s.chats[c.ID] = newChat(wireChat{ID: c.ID, Type: c.Type, Title: c.Title, Username: c.UserName}, bot)
	return s.chats[c.ID].info.api()
}

func (s *Server) newChatID(chatType string) int64 {
	s.lastID++
	if chatType == "group" {
		return -(400000000 + s.lastID)
	}
	return -(1001000000000 + s.lastID)
}

// SetMember sets a user's membership in a group or channel (creator,
// administrator with rights, member, restricted, left or kicked), without
// any update. m.User is required; an unknown user is registered without a
// private chat. For the bot itself use SetBotMember.
func (s *Server) SetMember(chatID int64, m tgbotapi.ChatMember) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.User == nil {
		panic("telegramtest: SetMember: ChatMember.User is required")
	}
	c := s.mustChat("SetMember", chatID)
	uid := m.User.ID
	if s.users[uid] == nil {
		uid = s.registerUser(*m.User).ID
	}
	m.User = nil // the user registry owns the profile
	c.members[uid] = m
}

// SetSubscribers sets how many subscribers getChatMemberCount reports for
// a channel (or any chat), in place of the members the fake knows.
func (s *Server) SetSubscribers(chatID int64, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustChat("SetSubscribers", chatID).subscribers = n
}

// SetBotMember sets the bot's own membership in a chat without any update:
// e.g. an administrator without CanPostMessages in a channel, or "left".
func (s *Server) SetBotMember(chatID int64, m tgbotapi.ChatMember) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m.User = nil
	s.mustChat("SetBotMember", chatID).bot = m
}

// ChangeBotMember sets the bot's membership as if user byUserID had changed
// it (added, promoted or removed the bot) and queues the my_chat_member
// update Telegram sends, which it returns.
func (s *Server) ChangeBotMember(chatID, byUserID int64, m tgbotapi.ChatMember) tgbotapi.Update {
	s.mu.Lock()
	defer s.mu.Unlock()
	m.User = nil
	c := s.mustChat("ChangeBotMember", chatID)
	by := s.mustUser("ChangeBotMember", byUserID)
	old := c.bot
	c.bot = m
	return s.push("my_chat_member", wireChatMemberUpdated{
		Chat:          c.info,
		From:          by.info,
		Date:          s.now().Unix(),
		OldChatMember: memberJSON(old, s.bot, c.info.Type),
		NewChatMember: memberJSON(m, s.bot, c.info.Type),
	})
}

// BlockBot makes a user block the bot: sending to them answers 403 "bot was
// blocked by the user". It returns the my_chat_member update Telegram sends.
func (s *Server) BlockBot(userID int64) tgbotapi.Update {
	return s.ChangeBotMember(userID, userID, tgbotapi.ChatMember{Status: "kicked"})
}

// UnblockBot undoes BlockBot (the user restarted the bot).
func (s *Server) UnblockBot(userID int64) tgbotapi.Update {
	return s.ChangeBotMember(userID, userID, tgbotapi.ChatMember{Status: "member"})
}

// KickBot removes the bot from a group, supergroup or channel, as user
// byUserID: sending there answers 403.
func (s *Server) KickBot(chatID, byUserID int64) tgbotapi.Update {
	return s.ChangeBotMember(chatID, byUserID, tgbotapi.ChatMember{Status: "kicked"})
}

// DeactivateUser deletes a user's account: sending to them answers 403
// "user is deactivated". Telegram sends no update for it.
func (s *Server) DeactivateUser(userID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustUser("DeactivateUser", userID).deactivated = true
}

// MigrateGroup upgrades a basic group to a new supergroup, as user byUserID.
// Afterwards the old id answers 400 "group chat was upgraded to a
// supergroup chat" with migrate_to_chat_id. Members and the bot's
// membership move over, and the two service messages Telegram sends
// (migrate_to_chat_id in the old chat, migrate_from_chat_id in the new) are
// queued. It returns the supergroup's id.
func (s *Server) MigrateGroup(groupID, byUserID int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.mustChat("MigrateGroup", groupID)
	if old.info.Type != "group" || old.migratedTo != 0 {
		panic(fmt.Sprintf("telegramtest: MigrateGroup: chat %d is not a basic group", groupID))
	}
	by := s.mustUser("MigrateGroup", byUserID)
	id := s.newChatID("supergroup")
	sg := newChat(wireChat{ID: id, Type: "supergroup", Title: old.info.Title}, old.bot)
	for uid, m := range old.members {
		sg.members[uid] = m
	}
	s.chats[id] = sg
	old.migratedTo = id

	from := by.info
	m := s.store(old, wireMessage{From: &from, MigrateToChatID: id}, nil)
	s.push("message", m.msg)
	m = s.store(sg, wireMessage{From: &from, MigrateFromChatID: old.info.ID}, nil)
	s.push("message", m.msg)
	return id
}

func (s *Server) mustChat(helper string, id int64) *chat {
	c := s.chats[id]
	if c == nil {
		panic(fmt.Sprintf("telegramtest: %s: unknown chat %d", helper, id))
	}
	return c
}

func (s *Server) mustUser(helper string, id int64) *user {
	u := s.users[id]
	if u == nil {
		panic(fmt.Sprintf("telegramtest: %s: unknown user %d", helper, id))
	}
	return u
}

// lookup resolves a chat_id parameter, a number or "@username", the way
// Telegram does. s.mu must be held.
func (s *Server) lookup(v string) (*chat, *apiError) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, badRequest("chat_id is empty")
	}
	if name, ok := strings.CutPrefix(v, "@"); ok {
		if id, ok := s.usernames[strings.ToLower(name)]; ok {
			return s.chats[id], nil
		}
		return nil, badRequest("chat not found")
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, badRequest("chat not found")
	}
	c := s.chats[id]
	switch {
	case c == nil && s.users[id] != nil:
		return nil, forbidden("bot can't initiate conversation with a user")
	case c == nil:
		return nil, badRequest("chat not found")
	case c.migratedTo != 0:
		e := badRequest("group chat was upgraded to a supergroup chat")
		e.migrateTo = c.migratedTo
		return nil, e
	}
	return c, nil
}

// reachable returns the error Telegram answers when the bot can no longer
// act in c at all (nil when it can).
func (s *Server) reachable(c *chat) *apiError {
	switch c.info.Type {
	case "private":
		if s.users[c.info.ID].deactivated {
			return forbidden("user is deactivated")
		}
		if c.bot.Status == "kicked" {
			return forbidden("bot was blocked by the user")
		}
	case "channel":
		if c.bot.Status == "kicked" || c.bot.Status == "left" {
			return forbidden("bot is not a member of the channel chat")
		}
	default:
		switch c.bot.Status {
		case "kicked":
			return forbidden("bot was kicked from the " + c.info.Type + " chat")
		case "left":
			return forbidden("bot is not a member of the " + c.info.Type + " chat")
		}
	}
	return nil
}

// writable returns the error Telegram answers when the bot may not post in
// c (nil when it may).
func (s *Server) writable(c *chat) *apiError {
	if e := s.reachable(c); e != nil {
		return e
	}
	admin := c.bot.Status == "creator" || c.bot.Status == "administrator" && c.bot.CanPostMessages
	switch {
	case c.info.Type == "channel" && !admin:
		return badRequest("need administrator rights in the channel chat")
	case c.bot.Status == "restricted" && !c.bot.CanSendMessages:
		return badRequest("not enough rights to send text messages to the chat")
	}
	return nil
}

func getChat(s *Server, req *request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.lookup(req.str("chat_id"))
	if e != nil {
		return nil, e
	}
	if c.info.Type != "private" {
		if e := s.reachable(c); e != nil {
			return nil, e
		}
	}
	return c.info, nil
}

// getChatMemberCount answers for a chat the bot may see: the subscribers
// set, else the members it knows, the bot included.
func getChatMemberCount(s *Server, req *request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.reachableChat(req.str("chat_id"))
	if e != nil {
		return nil, e
	}
	if c.subscribers > 0 {
		return c.subscribers, nil
	}
	n := 1
	for _, m := range c.members {
		if m.Status != "left" && m.Status != "kicked" {
			n++
		}
	}
	return n, nil
}

func getChatMember(s *Server, req *request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.reachableChat(req.str("chat_id"))
	if e != nil {
		return nil, e
	}
	if !req.has("user_id") {
		return nil, badRequest("user_id is empty")
	}
	uid := req.int("user_id")
	switch {
	case uid <= 0:
		return nil, badRequest("invalid user_id specified")
	case uid == s.bot.ID:
		return memberJSON(c.bot, s.bot, c.info.Type), nil
	case c.info.Type == "channel" && c.bot.Status != "administrator" && c.bot.Status != "creator":
		// Only a channel's administrators may see who else is in it.
		return nil, badRequest("member list is inaccessible")
	case s.users[uid] == nil:
		return nil, badRequest("user not found")
	case c.info.Type == "private":
		if uid != c.info.ID {
			return nil, badRequest("user not found")
		}
		return memberJSON(tgbotapi.ChatMember{Status: "member"}, s.users[uid].info, c.info.Type), nil
	}
	m, ok := c.members[uid]
	if !ok {
		m = tgbotapi.ChatMember{Status: "left"}
	}
	return memberJSON(m, s.users[uid].info, c.info.Type), nil
}

func getChatAdministrators(s *Server, req *request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.lookup(req.str("chat_id"))
	if e != nil {
		return nil, e
	}
	if c.info.Type == "private" {
		return nil, badRequest("there are no administrators in the private chat")
	}
	if e := s.reachable(c); e != nil {
		return nil, e
	}
	ids := make([]int64, 0, len(c.members))
	for id, m := range c.members {
		if m.Status == "creator" || m.Status == "administrator" {
			ids = append(ids, id)
		}
	}
	// The creator first, then by id, so answers are stable.
	sort.Slice(ids, func(i, j int) bool {
		ci, cj := c.members[ids[i]].Status == "creator", c.members[ids[j]].Status == "creator"
		if ci != cj {
			return ci
		}
		return ids[i] < ids[j]
	})
	admins := []map[string]any{}
	for _, id := range ids {
		admins = append(admins, memberJSON(c.members[id], s.users[id].info, c.info.Type))
	}
	if c.bot.Status == "administrator" || c.bot.Status == "creator" {
		admins = append(admins, memberJSON(c.bot, s.bot, c.info.Type))
	}
	return admins, nil
}
