package view

// RetentionPage is the board's retention settings, what they would delete now, the
// deletion records and the certificate form.
type RetentionPage struct {
	Preview []RetentionRow
	Records []RetentionRecord
	From    string
	To      string
	Done    string
}

// RetentionRow is a category and a count.
type RetentionRow struct {
	Category, Policy string
	Count            int
}

// RetentionRecord is one deletion record as listed.
type RetentionRecord struct {
	At, Category, Reason, Policy, Actor string
	Count                               int
}
