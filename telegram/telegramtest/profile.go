package telegramtest

import "unicode/utf8"

// The bot's profile: the description shown in an empty chat before /start
// and the short description on its profile page and in shared links, each
// per language, with Telegram's limits in UTF-16 code units.
const (
	maxDescription      = 512
	maxShortDescription = 120
)

// Description returns the bot's description for a language ("" for the
// default), as getMyDescription would, without falling back.
func (s *Server) Description(languageCode string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.profile["description/"+languageCode]
}

// ShortDescription returns the bot's short description for a language
// ("" for the default), as getMyShortDescription would, without falling
// back.
func (s *Server) ShortDescription(languageCode string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.profile["short_description/"+languageCode]
}

func setMyDescription(s *Server, req *request) (any, *apiError) {
	return s.setProfile(req, "description", maxDescription)
}

func setMyShortDescription(s *Server, req *request) (any, *apiError) {
	return s.setProfile(req, "short_description", maxShortDescription)
}

func getMyDescription(s *Server, req *request) (any, *apiError) {
	return s.getProfile(req, "description")
}

func getMyShortDescription(s *Server, req *request) (any, *apiError) {
	return s.getProfile(req, "short_description")
}

// setProfile stores one of the profile's texts; an empty or absent text
// removes it, as in Telegram.
func (s *Server) setProfile(req *request, kind string, limit int) (any, *apiError) {
	lang := req.str("language_code")
	if lang != "" && !languageRE.MatchString(lang) {
		return nil, badRequest("invalid language code specified")
	}
	text := req.str(kind)
	switch {
	case !utf8.ValidString(text):
		return nil, badRequest("strings must be encoded in UTF-8")
	case UTF16Len(text) > limit:
		return nil, badRequest("bot %s is too long", map[string]string{"description": "description", "short_description": "short description"}[kind])
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if text == "" {
		delete(s.profile, kind+"/"+lang)
	} else {
		s.profile[kind+"/"+lang] = text
	}
	return true, nil
}

func (s *Server) getProfile(req *request, kind string) (any, *apiError) {
	lang := req.str("language_code")
	if lang != "" && !languageRE.MatchString(lang) {
		return nil, badRequest("invalid language code specified")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	text, ok := s.profile[kind+"/"+lang]
	if !ok && lang != "" {
		text = s.profile[kind+"/"]
	}
	return map[string]string{kind: text}, nil
}
