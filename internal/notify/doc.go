// Package notify tells staff that something waits for them, without a buzz at night
// and without personal data (issue 18).
//
// Features publish a live.Event in the transaction that makes a change; Publish turns
// the kinds people are notified of (a parent's message, an absence report, a
// registration to approve, a safety alert's finished delivery) into a durable job, so a
// rolled-back change notifies no one. That job finds who the change concerns by duty
// (the class's 担任 and 副担任, a club's 顧問, the office, the alert's creator) and adds
// it to what waits for each of them who wants that kind. One send job per person and
// kind turns what waited into one notification — 「新しい連絡が3件あります」 with where
// (「1年1組 担任」) and a link — at most once a minute and only inside the person's
// window (通知する時間帯, by default the school's office hours): what arrives outside it
// waits for the window to open and then comes as one. The notification goes to every
// browser the person subscribed (Web Push: RFC 8030, RFC 8291 encryption, RFC 8292
// VAPID, through webpush-go; 404 and 410 remove the subscription, 429 and 5xx are
// retried) and, through PostgreSQL NOTIFY on Channel, to the pages they have open
// (desktop notifications).
package notify
