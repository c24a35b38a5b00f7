package telegramtest

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
)

// method is a Bot API method the fake serves, under its canonical name.
type method struct {
	name string
	fn   handler
}

// methods maps lower-case method names (the Bot API ignores case) to their
// handlers.
var methods = func() map[string]method {
	byName := map[string]handler{
		"getMe":                  getMe,
		"getUpdates":             getUpdates,
		"setWebhook":             setWebhook,
		"deleteWebhook":          deleteWebhook,
		"getWebhookInfo":         getWebhookInfo,
		"sendMessage":            sendMessage,
		"sendPhoto":              sendPhoto,
		"sendDocument":           sendDocument,
		"copyMessage":            copyMessage,
		"sendChatAction":         sendChatAction,
		"editMessageText":        editMessageText,
		"editMessageCaption":     editMessageCaption,
		"editMessageReplyMarkup": editMessageReplyMarkup,
		"deleteMessage":          deleteMessage,
		"answerCallbackQuery":    answerCallbackQuery,
		"setMyCommands":          setMyCommands,
		"getMyCommands":          getMyCommands,
		"deleteMyCommands":       deleteMyCommands,
		"getChat":                getChat,
		"getChatMember":          getChatMember,
		"getChatMemberCount":     getChatMemberCount,
		"getChatAdministrators":  getChatAdministrators,
		"setMyDescription":       setMyDescription,
		"getMyDescription":       getMyDescription,
		"setMyShortDescription":  setMyShortDescription,
		"getMyShortDescription":  getMyShortDescription,
	}
	m := make(map[string]method, len(byName))
	for name, fn := range byName {
		m[strings.ToLower(name)] = method{name: name, fn: fn}
	}
	return m
}()

const (
	maxTextLen    = 4096
	maxCaptionLen = 1024
	// deleteWindow is how long after sending a message can be deleted.
	deleteWindow = 48 * time.Hour
)

func getMe(s *Server, _ *request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return struct {
		wireUser
		CanJoinGroups           bool `json:"can_join_groups"`
		CanReadAllGroupMessages bool `json:"can_read_all_group_messages"`
		SupportsInlineQueries   bool `json:"supports_inline_queries"`
	}{wireUser: s.bot, CanJoinGroups: true}, nil
}

// formatted is a text or caption parsed as Telegram stores it.
type formatted struct {
	raw       string
	parseMode string
	plain     string
	entities  []entity
}

// parseFormatted parses a text or caption with its parse_mode, or with
// explicit entities when no parse_mode is given.
func parseFormatted(text, parseMode, entitiesJSON string) (formatted, *apiError) {
	f := formatted{raw: text, parseMode: parseMode, plain: text}
	switch strings.ToLower(parseMode) {
	case "":
		if strings.TrimSpace(entitiesJSON) != "" && json.Unmarshal([]byte(entitiesJSON), &f.entities) != nil {
			return f, badRequest("can't parse entities JSON object")
		}
	case "html":
		plain, ents, err := parseHTML(text)
		if err != nil {
			return f, badRequest("can't parse entities: %v", err)
		}
		f.plain, f.entities = plain, ents
	case "markdown", "markdownv2":
		return f, badRequest("unsupported parse_mode %q: telegramtest implements only HTML", parseMode)
	default:
		return f, badRequest("unsupported parse_mode")
	}
	f.plain, f.entities = trimFormatted(f.plain, f.entities)
	return f, nil
}

// parseText reads the text parameter of sendMessage and editMessageText.
func parseText(req *request) (formatted, *apiError) {
	f, e := parseFormatted(req.str("text"), req.str("parse_mode"), req.str("entities"))
	switch {
	case e != nil:
		return f, e
	case f.plain == "":
		return f, badRequest("message text is empty")
	case UTF16Len(f.plain) > maxTextLen:
		return f, badRequest("message is too long")
	}
	return f, nil
}

// parseCaption reads the caption parameter of the media methods.
func parseCaption(req *request) (formatted, *apiError) {
	f, e := parseFormatted(req.str("caption"), req.str("parse_mode"), req.str("caption_entities"))
	if e == nil && UTF16Len(f.plain) > maxCaptionLen {
		return f, badRequest("message caption is too long")
	}
	return f, e
}

func (f formatted) content(m markup) Content {
	return Content{Text: f.raw, Plain: f.plain, ParseMode: f.parseMode, ReplyMarkup: m.raw, Keyboard: m.inline}
}

// sendParams are the parameters every send method shares, validated
// before the server's lock is taken.
type sendParams struct {
	chatID       string
	markup       markup
	preview      json.RawMessage
	replyTo      int
	allowNoReply bool
}

func readSendParams(req *request) (sendParams, *apiError) {
	p := sendParams{
		chatID:       req.str("chat_id"),
		replyTo:      int(req.int("reply_to_message_id")),
		allowNoReply: req.flag("allow_sending_without_reply"),
	}
	var e *apiError
	if p.markup, e = parseMarkup(req.str("reply_markup")); e != nil {
		return p, e
	}
	var ok bool
	if p.preview, ok = req.object("link_preview_options"); !ok {
		return p, badRequest("can't parse link preview options JSON object")
	}
	// reply_parameters is the newer form of reply_to_message_id.
	if rp, ok := req.object("reply_parameters"); !ok {
		return p, badRequest("can't parse reply parameters JSON object")
	} else if rp != nil {
		var v struct {
			MessageID                int  `json:"message_id"`
			AllowSendingWithoutReply bool `json:"allow_sending_without_reply"`
		}
		_ = json.Unmarshal(rp, &v)
		p.replyTo, p.allowNoReply = v.MessageID, v.AllowSendingWithoutReply
	}
	return p, nil
}

// target resolves the chat a message is sent to and checks the bot may
// post there. s.mu must be held.
func (s *Server) target(chatID string) (*chat, *apiError) {
	c, e := s.lookup(chatID)
	if e != nil {
		return nil, e
	}
	if e := s.writable(c); e != nil {
		return nil, e
	}
	return c, nil
}

// reachableChat resolves a chat the bot still belongs to, for calls that
// read or change what is there rather than post. s.mu must be held.
func (s *Server) reachableChat(chatID string) (*chat, *apiError) {
	c, e := s.lookup(chatID)
	if e != nil {
		return nil, e
	}
	if e := s.reachable(c); e != nil {
		return nil, e
	}
	return c, nil
}

// deliver applies the flood limits to a validated message and, if they let
// it through, stores and records it. s.mu must be held.
func (s *Server) deliver(c *chat, method string, req *request, p sendParams, msg wireMessage, content Content, fileID string) (*storedMessage, *apiError) {
	thread := req.int("message_thread_id")
	if e := c.postable(thread); e != nil {
		return nil, e
	}
	if thread != 0 {
		msg.MessageThreadID, msg.IsTopicMessage = thread, true
	}
	if p.replyTo != 0 {
		if m := c.messages[p.replyTo]; m != nil && !m.deleted {
			reply := m.msg
			msg.ReplyToMessage = &reply
		} else if !p.allowNoReply {
			return nil, badRequest("message to be replied not found")
		}
	}
	now := req.at(s)
	if e := s.admit(c, req.flag("allow_paid_broadcast"), now); e != nil {
		return nil, e
	}
	msg.ReplyMarkup = p.markup.inlineRaw()
	msg.LinkPreviewOptions = p.preview
	params := make(map[string]string, len(req.params))
	for k, v := range req.params {
		params[k] = v
	}
	rec := &Record{
		Method:                method,
		ChatID:                c.info.ID,
		Time:                  now,
		Content:               content,
		FileID:                fileID,
		DisableNotification:   req.flag("disable_notification"),
		DisableWebPagePreview: req.flag("disable_web_page_preview"),
		LinkPreviewOptions:    p.preview,
		AllowPaidBroadcast:    req.flag("allow_paid_broadcast"),
		ReplyToMessageID:      p.replyTo,
		ThreadID:              msg.MessageThreadID,
		Params:                params,
	}
	m := s.store(c, msg, rec)
	s.records = append(s.records, rec)
	s.stats.Messages++
	return m, nil
}

// store adds a message to a chat under the chat's next message id. rec is
// the record of a message the bot sent, nil for anyone else's. s.mu must
// be held.
func (s *Server) store(c *chat, msg wireMessage, rec *Record) *storedMessage {
	c.lastMsgID++
	msg.MessageID = c.lastMsgID
	msg.Date = s.now().Unix()
	msg.Chat = c.info
	if rec != nil {
		if c.info.Type == "channel" {
			sender := c.info
			msg.SenderChat = &sender // channel posts come from the channel
		} else {
			bot := s.bot
			msg.From = &bot
		}
		rec.MessageID = msg.MessageID
	}
	m := &storedMessage{msg: msg, fromBot: rec != nil, record: rec}
	c.messages[msg.MessageID] = m
	return m
}

func sendMessage(s *Server, req *request) (any, *apiError) {
	p, e := readSendParams(req)
	if e != nil {
		return nil, e
	}
	text, e := parseText(req)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.target(p.chatID)
	if e != nil {
		return nil, e
	}
	m, e := s.deliver(c, "sendMessage", req, p, wireMessage{Text: text.plain, Entities: text.entities}, text.content(p.markup), "")
	if e != nil {
		return nil, e
	}
	return m.msg, nil
}

func copyMessage(s *Server, req *request) (any, *apiError) {
	p, e := readSendParams(req)
	if e != nil {
		return nil, e
	}
	var caption formatted
	if req.has("caption") {
		if caption, e = parseCaption(req); e != nil {
			return nil, e
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	from, e := s.lookup(req.str("from_chat_id"))
	if e != nil {
		return nil, e
	}
	if e := s.reachable(from); e != nil {
		return nil, e
	}
	src := from.messages[int(req.int("message_id"))]
	if src == nil || src.deleted || src.msg.Text == "" && src.msg.Photo == nil && src.msg.Document == nil {
		return nil, badRequest("message to copy not found")
	}
	c, e := s.target(p.chatID)
	if e != nil {
		return nil, e
	}
	msg := wireMessage{Text: src.msg.Text, Entities: src.msg.Entities, Photo: src.msg.Photo, Document: src.msg.Document,
		Caption: src.msg.Caption, CaptionEntities: src.msg.CaptionEntities}
	content := Content{Text: src.msg.Text, Plain: src.msg.Text}
	var fileID string
	if msg.Text == "" {
		if req.has("caption") {
			msg.Caption, msg.CaptionEntities = caption.plain, caption.entities
		}
		content = Content{Text: msg.Caption, Plain: msg.Caption}
		if req.has("caption") {
			content = caption.content(markup{})
		}
		fileID = mediaFileID(msg)
	}
	content.ReplyMarkup, content.Keyboard = p.markup.raw, p.markup.inline
	m, e := s.deliver(c, "copyMessage", req, p, msg, content, fileID)
	if e != nil {
		return nil, e
	}
	return map[string]int{"message_id": m.msg.MessageID}, nil
}

// mediaFileID is the file_id a record shows for a media message.
func mediaFileID(m wireMessage) string {
	switch {
	case len(m.Photo) > 0:
		return m.Photo[len(m.Photo)-1].FileID
	case m.Document != nil:
		return m.Document.FileID
	}
	return ""
}

var chatActions = map[string]bool{
	"typing": true, "upload_photo": true, "record_video": true, "upload_video": true,
	"record_voice": true, "upload_voice": true, "upload_document": true, "choose_sticker": true,
	"find_location": true, "record_video_note": true, "upload_video_note": true,
}

func sendChatAction(s *Server, req *request) (any, *apiError) {
	if !chatActions[req.str("action")] {
		return nil, badRequest("wrong parameter action in request")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, e := s.target(req.str("chat_id")); e != nil {
		return nil, e
	}
	return true, nil
}

// editTarget finds the bot's message an edit* call names. s.mu must be
// held.
func (s *Server) editTarget(req *request) (*chat, *storedMessage, *apiError) {
	if req.has("inline_message_id") {
		return nil, nil, badRequest("MESSAGE_ID_INVALID: telegramtest has no inline messages")
	}
	c, e := s.reachableChat(req.str("chat_id"))
	if e != nil {
		return nil, nil, e
	}
	id := int(req.int("message_id"))
	if id == 0 {
		return nil, nil, badRequest("message identifier is not specified")
	}
	m := c.messages[id]
	switch {
	case m == nil || m.deleted:
		return nil, nil, badRequest("message to edit not found")
	case !m.fromBot:
		return nil, nil, badRequest("message can't be edited")
	}
	return c, m, nil
}

// edit applies the flood limits to an edit and, if they let it through,
// applies it to the message and its record. s.mu must be held.
func (s *Server) edit(req *request, c *chat, m *storedMessage, method string, next wireMessage, content Content) (any, *apiError) {
	if sameContent(m.msg, next) {
		return nil, badRequest("message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
	}
	now := req.at(s)
	if e := s.admit(c, false, now); e != nil {
		return nil, e
	}
	next.EditDate = now.Unix()
	m.msg = next
	m.record.Edits = append(m.record.Edits, Edit{Method: method, Time: now, Content: content})
	s.stats.Messages++
	return m.msg, nil
}

func sameContent(a, b wireMessage) bool {
	ja, _ := json.Marshal([]any{a.Text, a.Entities, a.Caption, a.CaptionEntities})
	jb, _ := json.Marshal([]any{b.Text, b.Entities, b.Caption, b.CaptionEntities})
	return bytes.Equal(ja, jb) && equalJSON(a.ReplyMarkup, b.ReplyMarkup)
}

// equalJSON compares two JSON values ignoring formatting and key order.
func equalJSON(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var va, vb any
	_ = json.Unmarshal(a, &va)
	_ = json.Unmarshal(b, &vb)
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return bytes.Equal(ja, jb)
}

// editMarkup reads the reply_markup of an edit: only inline keyboards can
// be attached to a sent message, and leaving it out removes the keyboard.
func editMarkup(req *request) (markup, *apiError) {
	mk, e := parseMarkup(req.str("reply_markup"))
	if e == nil && mk.raw != nil && mk.inline == nil {
		return mk, badRequest("inline keyboard expected")
	}
	return mk, e
}

func editMessageText(s *Server, req *request) (any, *apiError) {
	text, e := parseText(req)
	if e != nil {
		return nil, e
	}
	mk, e := editMarkup(req)
	if e != nil {
		return nil, e
	}
	preview, ok := req.object("link_preview_options")
	if !ok {
		return nil, badRequest("can't parse link preview options JSON object")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, m, e := s.editTarget(req)
	if e != nil {
		return nil, e
	}
	if m.msg.Text == "" {
		return nil, badRequest("there is no text in the message to edit")
	}
	next := m.msg
	next.Text, next.Entities, next.ReplyMarkup = text.plain, text.entities, mk.inlineRaw()
	if preview != nil {
		next.LinkPreviewOptions = preview
	}
	return s.edit(req, c, m, "editMessageText", next, text.content(mk))
}

func editMessageCaption(s *Server, req *request) (any, *apiError) {
	caption, e := parseCaption(req)
	if e != nil {
		return nil, e
	}
	mk, e := editMarkup(req)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, m, e := s.editTarget(req)
	if e != nil {
		return nil, e
	}
	if m.msg.Photo == nil && m.msg.Document == nil {
		return nil, badRequest("there is no caption in the message to edit")
	}
	next := m.msg
	next.Caption, next.CaptionEntities, next.ReplyMarkup = caption.plain, caption.entities, mk.inlineRaw()
	return s.edit(req, c, m, "editMessageCaption", next, caption.content(mk))
}

func editMessageReplyMarkup(s *Server, req *request) (any, *apiError) {
	mk, e := editMarkup(req)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, m, e := s.editTarget(req)
	if e != nil {
		return nil, e
	}
	next := m.msg
	next.ReplyMarkup = mk.inlineRaw()
	content := m.record.Current()
	content.ReplyMarkup, content.Keyboard = mk.raw, mk.inline
	return s.edit(req, c, m, "editMessageReplyMarkup", next, content)
}

func deleteMessage(s *Server, req *request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.reachableChat(req.str("chat_id"))
	if e != nil {
		return nil, e
	}
	id := int(req.int("message_id"))
	if id == 0 {
		return nil, badRequest("message identifier is not specified")
	}
	m := c.messages[id]
	if m == nil || m.deleted {
		return nil, badRequest("message to delete not found")
	}
	now := s.now()
	canDeleteOthers := c.info.Type == "private" || c.bot.Status == "creator" ||
		c.bot.Status == "administrator" && c.bot.CanDeleteMessages
	if now.Sub(time.Unix(m.msg.Date, 0)) > deleteWindow || !m.fromBot && !canDeleteOthers {
		return nil, badRequest("message can't be deleted")
	}
	m.deleted = true
	if m.record != nil {
		m.record.Deleted, m.record.DeletedAt = true, now
	}
	return true, nil
}
