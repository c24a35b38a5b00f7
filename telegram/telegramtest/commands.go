package telegramtest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

var (
	commandRE  = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)
	languageRE = regexp.MustCompile(`^[a-z]{2}$`)
)

// Commands returns the commands set for a scope and language, as
// getMyCommands would (no fallback to other scopes). A zero scope means
// the default scope.
func (s *Server) Commands(scope tgbotapi.BotCommandScope, languageCode string) []tgbotapi.BotCommand {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]tgbotapi.BotCommand(nil), s.commands[commandKey(scope, languageCode)]...)
}

func commandKey(scope tgbotapi.BotCommandScope, lang string) string {
	if scope.Type == "" {
		scope.Type = "default"
	}
	return fmt.Sprintf("%s/%d/%d/%s", scope.Type, scope.ChatID, scope.UserID, lang)
}

// commandScope reads the scope and language_code parameters and returns
// the key the commands are stored under. s.mu must be held.
func (s *Server) commandScope(req *request) (string, *apiError) {
	var sc struct {
		Type   string          `json:"type"`
		ChatID json.RawMessage `json:"chat_id"`
		UserID int64           `json:"user_id"`
	}
	if v := strings.TrimSpace(req.str("scope")); v != "" && json.Unmarshal([]byte(v), &sc) != nil {
		return "", badRequest("can't parse BotCommandScope JSON object")
	}
	lang := req.str("language_code")
	if lang != "" && !languageRE.MatchString(lang) {
		return "", badRequest("invalid language code specified")
	}
	scope := tgbotapi.BotCommandScope{Type: sc.Type}
	switch sc.Type {
	case "", "default", "all_private_chats", "all_group_chats", "all_chat_administrators":
	case "chat", "chat_administrators", "chat_member":
		// chat_id is a number or an "@username" string.
		id := string(sc.ChatID)
		var name string
		if json.Unmarshal(sc.ChatID, &name) == nil {
			id = name
		}
		c, e := s.lookup(id)
		if e != nil {
			return "", e
		}
		scope.ChatID = c.info.ID
		if sc.Type == "chat_member" {
			if s.users[sc.UserID] == nil {
				return "", badRequest("user not found")
			}
			scope.UserID = sc.UserID
		}
	default:
		return "", badRequest("unsupported bot command scope type %q", sc.Type)
	}
	return commandKey(scope, lang), nil
}

func setMyCommands(s *Server, req *request) (any, *apiError) {
	var cmds []tgbotapi.BotCommand
	if json.Unmarshal([]byte(req.str("commands")), &cmds) != nil {
		return nil, badRequest("can't parse commands JSON array")
	}
	if len(cmds) > 100 {
		return nil, badRequest("too many commands specified")
	}
	for _, c := range cmds {
		if !commandRE.MatchString(c.Command) {
			return nil, badRequest("BOT_COMMAND_INVALID")
		}
		if n := UTF16Len(strings.TrimSpace(c.Description)); n < 1 || n > 256 {
			return nil, badRequest("BOT_COMMAND_DESCRIPTION_INVALID")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key, e := s.commandScope(req)
	if e != nil {
		return nil, e
	}
	if len(cmds) == 0 {
		delete(s.commands, key)
	} else {
		s.commands[key] = cmds
	}
	return true, nil
}

func getMyCommands(s *Server, req *request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key, e := s.commandScope(req)
	if e != nil {
		return nil, e
	}
	return append([]tgbotapi.BotCommand{}, s.commands[key]...), nil
}

func deleteMyCommands(s *Server, req *request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key, e := s.commandScope(req)
	if e != nil {
		return nil, e
	}
	delete(s.commands, key)
	return true, nil
}
