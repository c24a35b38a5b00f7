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

// CloseGeneralTopic closes a forum's general topic: a message sent
// without message_thread_id is refused with "Bad Request: TOPIC_CLOSED",
// as Telegram does, until ReopenGeneralTopic.
func (s *Server) CloseGeneralTopic(chatID int64) { s.setGeneral("CloseGeneralTopic", chatID, true) }

// ReopenGeneralTopic opens a forum's general topic again.
func (s *Server) ReopenGeneralTopic(chatID int64) { s.setGeneral("ReopenGeneralTopic", chatID, false) }

func (s *Server) setGeneral(helper string, chatID int64, closed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.mustChat(helper, chatID)
	if !c.info.IsForum {
		panic(fmt.Sprintf("telegramtest: %s: chat %d is not a forum", helper, chatID))
	}
	c.generalClosed = closed
}

// postable checks that a message may go to forum topic thread of c (0:
// the general topic, or no topic), as Telegram does: an unknown or
// deleted topic, or any topic outside a forum, is not found; a closed one,
// the general topic included, refuses. s.mu must be held.
func (c *chat) postable(thread int64) *apiError {
	t := c.topics[thread]
	switch {
	case thread == 0:
		if c.info.IsForum && c.generalClosed {
			return badRequest("TOPIC_CLOSED")
		}
		return nil
	case !c.info.IsForum || t == nil || t.deleted:
		return badRequest("message thread not found")
	case t.closed:
		return badRequest("TOPIC_CLOSED")
	}
	return nil
}
