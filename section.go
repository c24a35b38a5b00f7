package nashra

// Section is one of the site's sections as the store keeps it.
type Section struct {
	Slug     string
	Name     string
	Position int
	// Active is false for a section that left the configuration; its
	// subscribers are kept, dormant, in case it comes back.
	Active bool
}

// SectionSpec is a section as the configuration describes it.
type SectionSpec struct {
	Slug  string
	Name  string
	Feeds []string
}
