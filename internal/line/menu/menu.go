// Package menu defines renraku's two LINE rich menus: which buttons, in which order,
// with which labels and postback actions. It has no dependencies so that the script
// drawing the menu images (scripts/richmenu) can read it.
package menu

// Kinds: before registration only 登録する; after, the six buttons of seed 000.
const (
	Guest  = "guest"
	Member = "member"
)

// Pages a button opens directly where the channel has a LIFF app (a URI action to
// https://liff.line.me/{liffId}/p/liff/{channelID}/{page}); elsewhere the button's
// postback makes the bot answer with a link to the same page.
const (
	PageRegister = "register"
	PageUpdate   = "update"
	PageAbsence  = "absence"
	PageHandouts = "handouts"
)

// Button is one tappable area of a rich menu.
type Button struct {
	Label    string // Japanese label, also shown in the chat when tapped
	Postback string // postback action name (see line.PostbackData)
	Mark     string // one glyph drawn above the label
	Page     string // the page it opens through LIFF ("" for a conversation in the chat)
}

// Layout is a menu's size on LINE and its grid.
type Layout struct {
	Kind          string
	Width, Height int64
	Columns       int64
	Buttons       []Button
}

// Layouts are the guest and member menus. The member menu is seed 000's six buttons,
// left to right, top to bottom.
var Layouts = []Layout{
	{Kind: Guest, Width: 2500, Height: 843, Columns: 1, Buttons: []Button{
		{"登録する", "menu.register", "＋", PageRegister},
	}},
	{Kind: Member, Width: 2500, Height: 1686, Columns: 3, Buttons: []Button{
		{"連絡する", "menu.contact", "✉", ""},
		{"遅刻・欠席連絡", "menu.absence", "欠", PageAbsence},
		{"自分の情報を更新する", "menu.profile", "✎", PageUpdate},
		{"学校ウェブサイト", "menu.website", "学", ""},
		{"配布プリント", "menu.handouts", "印", PageHandouts},
		{"部活動サイト", "menu.clubs", "部", ""},
	}},
}
