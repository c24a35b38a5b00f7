// Package nashra holds the domain types every part of nashra speaks:
// articles and the sections and feeds they come from, the hubs that push
// those feeds, the chats and email subscribers who read them, the
// deliveries and digests that carry them, the clicks they earn and the
// alerts admins hear. It does no I/O; the store persists these types, and
// the rules that need nothing but them are their methods.
package nashra
