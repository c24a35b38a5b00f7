package delivery

// What the engine tells the editors, in Arabic: every alert names what
// happened in words, never Telegram's English, and the command that acts.

// errorNames say in Arabic what kind of refusal Telegram gave.
var errorNames = map[ErrorKind]string{
	Transient:   "تيليجرام لم يستجب (عطل مؤقت من جهته)",
	RateLimited: "تيليجرام طلب التمهل",
	ChatGone:    "المحادثة لم تعد متاحة (حُظر البوت أو أُزيل منها)",
	Migrated:    "المجموعة انتقلت إلى معرّف جديد",
	BadMarkup:   "تيليجرام رفض تنسيق الرسالة",
	Rejected:    "تيليجرام رفض الطلب",
}

const (
	txtEditGivenUp   = "✏️ تعذّر تصحيح رسائل المقال %s: %s. تُركت بنصها القديم بعد استنفاد المحاولات أو انقضاء مهلة التصحيح."
	txtDeleteGivenUp = "🗑 تعذّر حذف رسائل المقال المسحوب %s: %s. احذفها يدويًا إن لزم."
	txtDeadRows      = "رسائل تعذّر إرسالها نهائيًا؛ تفاصيلها في /stats."
	txtChannelFailed = "⛔ تعذّر النشر في القناة %d: %s. امنحني صلاحية النشر فيها ثم تحقق عبر /channels."
)
