package telegramtest

import "fmt"

// topic is a forum topic of a supergroup.
type topic struct {
	name    string
	closed  bool
	deleted bool
}

// AddTopic creates a forum topic in a supergroup, which becomes a forum,
// and returns its message_thread_id: as in Telegram, the id of the service
// message that created it.
func (s *Server) AddTopic(chatID int64, name string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.mustChat("AddTopic", chatID)
	if c.info.Type != "supergroup" {
		panic(fmt.Sprintf("telegramtest: AddTopic: chat %d is a %s; only supergroups have topics", chatID, c.info.Type))
	}
	c.info.IsForum = true
	if c.topics == nil {
		c.topics = map[int64]*topic{}
	}
	m := s.store(c, wireMessage{}, nil)
	id := int64(m.msg.MessageID)
	m.msg.MessageThreadID, m.msg.IsTopicMessage = id, true
	c.topics[id] = &topic{name: name}
	return id
}

// CloseTopic closes a forum topic: posting in it is refused with
// "Bad Request: TOPIC_CLOSED" until ReopenTopic.
func (s *Server) CloseTopic(chatID, thread int64) {
	s.setTopic("CloseTopic", chatID, thread, func(t *topic) { t.closed = true })
}

// ReopenTopic opens a closed forum topic again.
func (s *Server) ReopenTopic(chatID, thread int64) {
	s.setTopic("ReopenTopic", chatID, thread, func(t *topic) { t.closed = false })
}

// DeleteTopic deletes a forum topic: posting in it is refused with "Bad
// Request: message thread not found".
func (s *Server) DeleteTopic(chatID, thread int64) {
	s.setTopic("DeleteTopic", chatID, thread, func(t *topic) { t.deleted = true })
}

func (s *Server) setTopic(helper string, chatID, thread int64, f func(*topic)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.mustChat(helper, chatID).topics[thread]
	if t == nil {
		panic(fmt.Sprintf("telegramtest: %s: chat %d has no topic %d", helper, chatID, thread))
	}
	f(t)
}

// postable checks that a message may go to forum topic thread of c, as
// Telegram does: an unknown or deleted topic, or any topic outside a
// forum, is not found; a closed one refuses. s.mu must be held.
func (c *chat) postable(thread int64) *apiError {
	t := c.topics[thread]
	switch {
	case !c.info.IsForum || t == nil || t.deleted:
		return badRequest("message thread not found")
	case t.closed:
		return badRequest("TOPIC_CLOSED")
	}
	return nil
}
