// Package apptest is what renraku's end-to-end tests share: the whole app started on
// 127.0.0.1:0 against a fresh database (StartApp), the app wired to the LINE platform
// simulator with the demo schools (LineWorld, StartLineWorld, StartDemoWorld), parents
// registered through LINE and their phone's browser (RegisteredParent, ParentBrowser),
// staff signed in over HTTP (StaffClient) or in Chromium (BrowserSignIn), and waits on
// the app's state instead of sleeps (WaitQuiet, WaitBotText, WaitSent, WaitRows).
//
// Each feature's end-to-end tests live in the feature's folder as package x_test and
// call Main from their TestMain. Only tests may import this package.
package apptest
