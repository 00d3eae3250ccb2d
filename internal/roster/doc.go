// Package roster reads and writes the CSV files in which a school's office keeps its
// roster: staff, classes, clubs and who is responsible for what.
//
// Japanese schools keep these lists in Excel and move them around as CSV, so a file may
// arrive as UTF-8 with a BOM (what Excel writes for "CSV UTF-8"), UTF-8 without one, or
// Shift_JIS/CP932 (what Excel on Japanese Windows writes for plain "CSV"). Decode finds
// out which and hands back UTF-8; downloads are encoded by csvexport, as every export is.
//
// Every file has a header row in Japanese (the English names are accepted too, in any
// order), then one line per item:
//
//	教職員 (staff)        ログインID[login], 氏名[name], 役割[role]        役割: 学校管理者 | 教職員
//	学級 (classes)        年度[year], 学年[grade], 組[class]               2026 or 令和8/R8, 1–6, 1組
//	                      在籍者数[enrolment] (optional)                   0–999, blank = not set
//	部活動 (clubs)        年度[year], 部活動名[club]
//	担当 (assignments)    年度[year], ログインID[login], 職務[duty], 対象[target]
//	                      職務: 担任 | 副担任 (対象 "1年1組") | 顧問 (対象 = 部活動名) | 学校宛て連絡 (対象 empty)
//
// A classes file with the 在籍者数 column also sets the enrolment of classes that exist
// already, so an exported file can be filled in and imported again; without it an
// existing class is an error. Exports always write every column.
//
// A staff file's login IDs are matched with the accounts: a new one makes an account
// (with its one-time sign-in link), one of this school's accounts updates its name and
// role where they differ (never its password), and one of another school or of the
// board is refused. Classes, clubs and assignments are only ever added. Preview runs
// an import without keeping anything and says, line by line, what it would do (new,
// update with the changes, or nothing to change); Template gives each kind's header
// with one made-up example row (山田 太郎), which imports as it is.
//
// Parsing is pure and checks the whole file, returning every problem as a RowError whose
// MessageID is in web/i18n/roster.*.json, so the console can show a clerk the full list
// to fix in one go rather than one error per upload. Whether a login or class exists is
// a question for the database and is left to the caller.
//
// Exported cells that begin with a formula character (= + - @, tab, CR and their
// full-width forms) are written with a leading apostrophe by csvexport so Excel shows
// them as text instead of running them as formulas; Parse removes it again. Cells read
// lose invisible format characters (usertext), as every typed text does.
package roster
