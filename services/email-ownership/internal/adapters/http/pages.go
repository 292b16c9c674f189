package http

import (
	"net/http"

	"github.com/partnerhub/onboarding/pkg/httpx"
	"github.com/partnerhub/onboarding/services/emailownership/internal/domain"
)

// The outcomes a link can show. "Unknown" covers malformed tokens too and
// names no address, so a page never tells whether an address or enrollment
// exists.
var (
	pageConfirmAsk = httpx.Page{Status: http.StatusOK,
		TitleJA: "メールアドレスの確認", TitleEN: "Confirm your e-mail address",
		BodyJA: "パートナー登録の連絡先として、次のメールアドレスを確認します。よろしければ下のボタンを押してください。",
		BodyEN: "This confirms the following address as the contact of your partner registration. If that is right, press the button below."}
	pageConfirmed = httpx.Page{Status: http.StatusOK,
		TitleJA: "メールアドレスを確認しました", TitleEN: "E-mail address confirmed",
		BodyJA: "ご協力ありがとうございます。このページを閉じて、パートナー登録の手続きを続けてください。",
		BodyEN: "Thank you. You can close this page and continue your partner registration."}
	pageExpired = httpx.Page{Status: http.StatusGone,
		TitleJA: "このリンクは有効期限が切れています", TitleEN: "This link has expired",
		BodyJA: "パートナー センターの「法的情報」ページから確認メールを再送信してください。",
		BodyEN: "Please request a new verification e-mail from the legal information page of the partner center."}
	pageUsed = httpx.Page{Status: http.StatusConflict,
		TitleJA: "このリンクは使用済みです", TitleEN: "This link has already been used",
		BodyJA: "メールアドレスはすでに確認済みか、新しいメールに置き換えられています。最新のメールのリンクをご利用ください。",
		BodyEN: "The address was already confirmed, or a newer e-mail replaced this one. Please use the link in the latest e-mail."}
	pageLocked = httpx.Page{Status: http.StatusConflict,
		TitleJA: "確認がロックされています", TitleEN: "Confirmation is locked",
		BodyJA: "誤ったコードの入力が多すぎました。確認メールを再送信してください。",
		BodyEN: "Too many wrong codes were entered. Please request a new verification e-mail."}
	pageOnHold = httpx.Page{Status: http.StatusConflict,
		TitleJA: "現在このアカウントでは確認できません", TitleEN: "This account cannot confirm e-mail right now",
		BodyJA: "パートナー アカウントが一時停止または閉鎖されています。再開されると新しい確認メールが届きます。",
		BodyEN: "The partner account is suspended or closed. When it is active again, a new verification e-mail is sent."}
	pageUnknown = httpx.Page{Status: http.StatusNotFound,
		TitleJA: "このリンクは無効です", TitleEN: "This link is not valid",
		BodyJA: "メールのリンクを最後まで正しくコピーしたかご確認ください。解決しない場合は確認メールを再送信してください。",
		BodyEN: "Please check that the whole link from the e-mail was copied. If that does not help, request a new verification e-mail."}
	pageDisputeAsk = httpx.Page{Status: http.StatusOK,
		TitleJA: "このメールに心当たりがありませんか？", TitleEN: "Did you not expect this e-mail?",
		BodyJA: "ご自身でパートナー登録をしていない場合、または連絡先としてこのアドレスを登録した会社に心当たりがない場合は、下のボタンで報告してください。担当者が確認します。登録がすぐに却下されることはありません。",
		BodyEN: "If you did not register as a partner, or you are not the contact of the company that named this address, report it with the button below. Our team will review it; nothing is rejected automatically."}
	pageRemoved = httpx.Page{Status: http.StatusGone,
		TitleJA: "このメールアドレスは登録から削除されました", TitleEN: "This address was removed from the registration",
		BodyJA: "ご報告を担当者が確認し、このメールアドレスをパートナー登録から削除しました。このリンクは使用できません。",
		BodyEN: "Our team reviewed the report and removed this address from the partner registration. This link can no longer be used."}
	pageWithdrawn = httpx.Page{Status: http.StatusConflict,
		TitleJA: "この確認は取り消されました", TitleEN: "This confirmation was withdrawn",
		BodyJA: "このメールアドレスへの連絡先変更は、新しい変更に置き換えられたか、承認されませんでした。このリンクは使用できません。",
		BodyEN: "The contact change to this address was replaced by a newer change or was not approved. This link can no longer be used."}
	pageContactChanged = httpx.Page{Status: http.StatusGone,
		TitleJA: "連絡先メールアドレスが変更されました", TitleEN: "The contact address was changed",
		BodyJA: "パートナー登録の連絡先メールアドレスが別のアドレスに変更されたため、このアドレスの確認は不要になりました。これ以上の操作は必要ありません。",
		BodyEN: "The contact e-mail address of the partner registration was changed to another address, so this address no longer needs to be confirmed. There is nothing more to do."}
	pageDisputed = httpx.Page{Status: http.StatusOK,
		TitleJA: "ご報告ありがとうございます", TitleEN: "Thank you for your report",
		BodyJA: "担当者が確認します。このメールのリンクは確認に使用しないでください。",
		BodyEN: "Our team will review it. Please do not use the link in the e-mail to confirm."}
)

func writePage(w http.ResponseWriter, p httpx.Page, lang domain.Language) {
	httpx.WritePage(w, p, lang == domain.LanguageEN)
}
