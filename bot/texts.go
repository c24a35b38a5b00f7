package bot

import "github.com/almaalouma/nashra/arabic"

// The bot's Arabic catalog: every word a reader or an editor sees from the
// bot, in Modern Standard Arabic as a news editor writes it. Texts are
// HTML-ready: those with %s take values already escaped. What counts
// something is in plural, with a whole sentence for each of the CLDR
// plural categories of Arabic (zero, one, two, few, many, other).

// plural holds the counted nouns and messages; TestPluralCatalog renders
// each at 0, 1, 2, 3, 11 and 100. A field's args tag says how many string
// arguments its forms take after the count.
var plural = struct {
	Section arabic.Forms `args:"0"`
	Reader  arabic.Forms `args:"0"`
	Click   arabic.Forms `args:"0"`

	FollowNow      arabic.Forms `args:"1"` // the sections followed now, named
	GroupFollowNow arabic.Forms `args:"1"`
	MySubs         arabic.Forms `args:"1"`
	GroupSubs      arabic.Forms `args:"1"`
	FollowAll      arabic.Forms `args:"0"`

	StatsReaders  arabic.Forms `args:"1"` // the active readers, a number
	StatsGroups   arabic.Forms `args:"0"`
	StatsChannels arabic.Forms `args:"0"`
	StatsStored   arabic.Forms `args:"0"`

	BroadcastConfirm arabic.Forms `args:"1"` // the message
	BroadcastQueued  arabic.Forms `args:"0"`
	Cancelled        arabic.Forms `args:"1"` // the article's title
	Retracted        arabic.Forms `args:"1"`
	Held             arabic.Forms `args:"0"`
	Released         arabic.Forms `args:"0"`
	DigestByMail     arabic.Forms `args:"0"`
	DigestInTelegram arabic.Forms `args:"0"`
}{
	Section: arabic.Noun{Zero: "أي قسم", One: "قسم واحد", Two: "قسمان", Few: "{n} أقسام", Many: "{n} قسمًا", Other: "{n} قسم"},
	Reader:  arabic.Noun{Zero: "أي قارئ", One: "قارئ واحد", Two: "قارئان", Few: "{n} قرّاء", Many: "{n} قارئًا", Other: "{n} قارئ"},
	Click:   arabic.Noun{Zero: "أي نقرة", One: "نقرة واحدة", Two: "نقرتان", Few: "{n} نقرات", Many: "{n} نقرةً", Other: "{n} نقرة"},

	FollowNow: arabic.Forms{Zero: "لم يتغير ما تتابعه.", One: "✅ صرت تتابع قسم %s.", Two: "✅ صرت تتابع قسمَي %s.",
		Few: "✅ صرت تتابع {n} أقسام: %s.", Many: "✅ صرت تتابع {n} قسمًا: %s.", Other: "✅ صرت تتابع {n} قسم: %s."},
	GroupFollowNow: arabic.Forms{Zero: "لم يتغير ما تتابعه المجموعة.", One: "✅ صارت هذه المجموعة تتابع قسم %s.",
		Two: "✅ صارت هذه المجموعة تتابع قسمَي %s.", Few: "✅ صارت هذه المجموعة تتابع {n} أقسام: %s.",
		Many: "✅ صارت هذه المجموعة تتابع {n} قسمًا: %s.", Other: "✅ صارت هذه المجموعة تتابع {n} قسم: %s."},
	MySubs: arabic.Forms{Zero: "لا تتابع أي قسم بعد. اختر الأقسام عبر /start أو /subscribe.",
		One: "تتابع قسمًا واحدًا: %s.", Two: "تتابع قسمين: %s.", Few: "تتابع {n} أقسام: %s.",
		Many: "تتابع {n} قسمًا: %s.", Other: "تتابع {n} قسم: %s."},
	GroupSubs: arabic.Forms{Zero: "لا تتابع هذه المجموعة أي قسم بعد. يختار مشرفوها أقسامها عبر /subscribe.",
		One: "تتابع هذه المجموعة قسمًا واحدًا: %s.", Two: "تتابع هذه المجموعة قسمين: %s.",
		Few: "تتابع هذه المجموعة {n} أقسام: %s.", Many: "تتابع هذه المجموعة {n} قسمًا: %s.",
		Other: "تتابع هذه المجموعة {n} قسم: %s."},
	FollowAll: arabic.Forms{Zero: "لا أقسام بعد.", One: "✅ صرت تتابع القسم الوحيد.", Two: "✅ صرت تتابع القسمين كليهما.",
		Few: "✅ صرت تتابع الأقسام كلها، وهي {n} أقسام.", Many: "✅ صرت تتابع الأقسام كلها، وهي {n} قسمًا.",
		Other: "✅ صرت تتابع الأقسام كلها، وهي {n} قسم."},

	StatsReaders: arabic.Forms{Zero: "لا قرّاء بعد.", One: "القرّاء: قارئ واحد (النشطون منهم: %s).",
		Two: "القرّاء: قارئان (النشطون منهم: %s).", Few: "القرّاء: {n} قرّاء (النشطون منهم: %s).",
		Many: "القرّاء: {n} قارئًا (النشطون منهم: %s).", Other: "القرّاء: {n} قارئ (النشطون منهم: %s)."},
	StatsGroups: arabic.Forms{Zero: "لا مجموعات بعد.", One: "المجموعات: مجموعة واحدة.", Two: "المجموعات: مجموعتان.",
		Few: "المجموعات: {n} مجموعات.", Many: "المجموعات: {n} مجموعةً.", Other: "المجموعات: {n} مجموعة."},
	StatsChannels: arabic.Forms{Zero: "لا قنوات مرتبطة بالأقسام بعد.", One: "القنوات المرتبطة: قناة واحدة.",
		Two: "القنوات المرتبطة: قناتان.", Few: "القنوات المرتبطة: {n} قنوات.", Many: "القنوات المرتبطة: {n} قناةً.",
		Other: "القنوات المرتبطة: {n} قناة."},
	StatsStored: arabic.Forms{Zero: "لم تُخزَّن أي مادة بعد.", One: "المواد المخزّنة: مادة واحدة.", Two: "المواد المخزّنة: مادتان.",
		Few: "المواد المخزّنة: {n} مواد.", Many: "المواد المخزّنة: {n} مادةً.", Other: "المواد المخزّنة: {n} مادة."},

	BroadcastConfirm: arabic.Forms{
		Zero:  "<b>لا قرّاء نشطون بعد</b>، فلن تصل هذه الرسالة إلى أحد:\n\n%s\n\nهل أرسلها مع ذلك؟",
		One:   "<b>رسالة إلى قارئ واحد</b>:\n\n%s\n\nهل أرسلها؟",
		Two:   "<b>رسالة إلى قارئَين</b>:\n\n%s\n\nهل أرسلها؟",
		Few:   "<b>رسالة إلى {n} قرّاء</b>:\n\n%s\n\nهل أرسلها؟",
		Many:  "<b>رسالة إلى {n} قارئًا</b>:\n\n%s\n\nهل أرسلها؟",
		Other: "<b>رسالة إلى {n} قارئ</b>:\n\n%s\n\nهل أرسلها؟"},
	BroadcastQueued: arabic.Forms{Zero: "لا قرّاء نشطون، فلم تُرسل الرسالة إلى أحد.",
		One: "📣 بدأ إرسال الرسالة إلى قارئ واحد.", Two: "📣 بدأ إرسال الرسالة إلى قارئَين.",
		Few: "📣 بدأ إرسال الرسالة إلى {n} قرّاء.", Many: "📣 بدأ إرسال الرسالة إلى {n} قارئًا.",
		Other: "📣 بدأ إرسال الرسالة إلى {n} قارئ."},
	Cancelled: arabic.Forms{Zero: "لم يبقَ من إرسال «%s» شيء يُلغى: وصل إلى الجميع أو أُلغي من قبل.",
		One: "⏹ أُلغيت رسالة واحدة بقيت من إرسال «%s».", Two: "⏹ أُلغيت رسالتان بقيتا من إرسال «%s».",
		Few: "⏹ أُلغيت {n} رسائل بقيت من إرسال «%s».", Many: "⏹ أُلغيت {n} رسالةً بقيت من إرسال «%s».",
		Other: "⏹ أُلغيت {n} رسالة بقيت من إرسال «%s»."},
	Retracted: arabic.Forms{Zero: "🗑 سُحب المقال «%s» من القوائم والأرشيف، ولا رسائل له يمكن حذفها.",
		One: "🗑 سُحب المقال «%s»: ستُحذف رسالته الوحيدة.", Two: "🗑 سُحب المقال «%s»: ستُحذف رسالتاه.",
		Few: "🗑 سُحب المقال «%s»: ستُحذف {n} رسائل.", Many: "🗑 سُحب المقال «%s»: ستُحذف {n} رسالةً.",
		Other: "🗑 سُحب المقال «%s»: ستُحذف {n} رسالة."},
	Held: arabic.Forms{Zero: "لا شيء موقوفًا", One: "مادة واحدة", Two: "مادتان", Few: "{n} مواد", Many: "{n} مادةً", Other: "{n} مادة"},
	Released: arabic.Forms{Zero: "لم يكن شيء منها موقوفًا، فلم يُطلق شيء.", One: "▶️ أُطلقت مادة واحدة للإرسال.",
		Two: "▶️ أُطلقت مادتان للإرسال.", Few: "▶️ أُطلقت {n} مواد للإرسال.", Many: "▶️ أُطلقت {n} مادةً للإرسال.",
		Other: "▶️ أُطلقت {n} مادة للإرسال."},
	DigestByMail: arabic.Forms{Zero: "", One: "إلى عنوان بريدي واحد", Two: "إلى عنوانين بريديين", Few: "إلى {n} عناوين بريدية",
		Many: "إلى {n} عنوانًا بريديًا", Other: "إلى {n} عنوان بريدي"},
	DigestInTelegram: arabic.Forms{Zero: "", One: "إلى قارئ واحد في تيليجرام", Two: "إلى قارئَين في تيليجرام",
		Few: "إلى {n} قرّاء في تيليجرام", Many: "إلى {n} قارئًا في تيليجرام", Other: "إلى {n} قارئ في تيليجرام"},
}

const (
	txtWelcome = "أهلًا بك في بوت <b>%s</b> 👋\n" +
		"تصلك هنا أخبار الموقع ومقالاته لحظة نشرها."
	txtChooseFirst      = "اختر الأقسام التي تريد متابعتها، واضغط القسم مرة أخرى لإلغاء متابعته:"
	txtQuietNote        = "🌙 ساعات الهدوء عندك من %s إلى %s %s: %s لتغييرها أرسل /settings، أو اضغط الزر أدناه لتصلك الأخبار ليلًا أيضًا."
	txtQuietHoldNote    = "تنتظر فيها الأخبار حتى الصباح، ويصلك العاجل وحده بلا صوت."
	txtQuietSilentNote  = "تصلك فيها الأخبار بلا صوت."
	txtQuietOffHere     = "ألغيت ساعات الهدوء: تصلك الأخبار لحظة نشرها ليلًا ونهارًا. لإعادتها: /settings"
	txtDigestOffInstant = "أُوقفت النشرة اليومية، فعادت الأخبار تصلك لحظة نشرها بدل أن ينقطع عنك كل شيء."
	btnNightToo         = "🔔 أريد الأخبار ليلًا أيضًا"
	btnBreakingSound    = "🔴 العاجل بصوت حتى في ساعات الهدوء"
	btnBundle           = "📚 اجمع الأخبار في رسالة واحدة إذا تدفقت دفعة كبيرة"
	txtWelcomeGroup     = "أهلًا بكم 👋 أنا بوت <b>%s</b>.\n" +
		"يختار مشرفو المجموعة الأقسام التي تصل مقالاتها إلى هنا:"
	txtChooseSections      = "اختر الأقسام التي تريد متابعتها (✅ = قسم تتابعه):"
	txtChooseSectionsGroup = "الأقسام التي تصل إلى هذه المجموعة (✅ = قسم تتابعه). يغيّرها مشرفو المجموعة:"

	txtAlreadyFollowed = "أنت تتابع %s أصلًا."
	txtUnsubscribed    = "ألغيت متابعة %s."
	txtNotFollowed     = "لم تكن تتابع %s."
	txtAllFollowed     = "أنت تتابع الأقسام كلها أصلًا."
	txtUnsubscribedAll = "ألغيت متابعة الأقسام كلها. تعود متى شئت عبر /start."
	txtNothingToDrop   = "لا تتابع أي قسم حاليًا. اختر ما يهمك عبر /start."

	txtNoMatch = "لم أجد قسمًا باسم «%s».\nالأقسام المتاحة: %s.\nمثال: <code>/subscribe %s</code>"

	txtSectionsHead = "<b>أقسام %s</b>"
	txtSectionsFoot = "للمتابعة: <code>/subscribe اسم القسم</code> أو اضغط /start."

	txtLatestHead      = "<b>أحدث ما نُشر</b>"
	txtLatestHeadIn    = "<b>أحدث ما نُشر في «%s»</b>"
	txtLatestNone      = "لم يُنشر شيء بعد."
	txtTopHead         = "<b>الأكثر متابعة اليوم</b>"
	txtTopLatestHead   = "<b>لا تتوفر بعد قائمة بالأكثر متابعة اليوم، وهذا أحدث ما نُشر:</b>"
	txtTopNotAvailable = "لا تتوفر بعد قائمة بالأكثر متابعة. نعمل على ذلك، وإلى حينه تجد أحدث ما نُشر عبر /latest."

	txtDigestOn  = "📰 فُعّلت النشرة اليومية: تصلك كل يوم عند الساعة %s %s، وفيها أهم ما نُشر في أقسامك. لإيقافها أرسل /digest مرة أخرى."
	txtDigestOff = "أُوقفت النشرة اليومية في تيليجرام. لتفعيلها من جديد أرسل /digest."

	txtEmailUsage        = "أرسل عنوان بريدك بعد الأمر، مثل:\n<code>/email name@example.com</code>"
	txtEmailInvalid      = "هذا لا يبدو عنوان بريد إلكتروني صحيحًا. أرسل عنوانًا واحدًا، مثل: <code>name@example.com</code>"
	txtEmailSent         = "📧 إن كان العنوان صحيحًا فستصله رسالة تأكيد خلال دقائق. افتحها واضغط زر التأكيد لتبدأ النشرة البريدية."
	txtEmailUnavailable  = "النشرة البريدية غير متاحة بعد. وإلى أن تتاح يمكنك تلقّي النشرة اليومية هنا في تيليجرام عبر /digest."
	txtEmailFailed       = "تعذّر بدء الاشتراك البريدي الآن. حاول مرة أخرى بعد قليل."
	txtEmailTooMany      = "طلبت الاشتراك البريدي مرات كثيرة خلال وقت قصير. انتظر ساعة ثم حاول مرة أخرى."
	txtEmailPrivateOnly  = "الاشتراك بالبريد أمر شخصي: أرسل /email في محادثة خاصة مع البوت."
	txtStopped           = "تم إلغاء متابعة كل الأقسام وحذف بياناتك من البوت. سعدنا بصحبتك، ويمكنك العودة في أي وقت عبر /start."
	txtStoppedGroup      = "تم إيقاف إرسال المقالات إلى هذه المجموعة وحذف إعداداتها. يمكن لمشرفيها البدء من جديد عبر /start."
	txtHint              = "أرسل /start لاختيار الأقسام التي تتابعها، أو /help لمعرفة الأوامر."
	txtHintSection       = "هل تريد متابعة قسم «%s»؟ أرسل <code>/subscribe %s</code> أو اختره عبر /start."
	txtUnknownCommand    = "لم أتعرف على هذا الأمر. أرسل /help لمعرفة الأوامر المتاحة."
	txtGroupAdminsOnly   = "عذرًا، تغيير اشتراكات المجموعة وإعداداتها متاح لمشرفيها فقط."
	txtAdminCheckFailed  = "تعذّر التحقق من صلاحياتك الآن. حاول مرة أخرى بعد قليل."
	txtError             = "حدث خطأ مؤقت. حاول مرة أخرى بعد قليل."
	txtButtonAdminsOnly  = "هذا الخيار لمشرفي المجموعة فقط."
	txtButtonNotYours    = "هذا الزر ليس لك: لا يغيّره إلا صاحب المحادثة."
	txtButtonExpired     = "انتهت صلاحية هذا الزر. أرسل الأمر من جديد."
	txtSaved             = "تم الحفظ ✅"
	txtGroupAddedWelcome = "شكرًا لإضافتي 🌷 يختار مشرفو المجموعة الأقسام التي تصل مقالاتها إلى هنا عبر /start أو <code>/subscribe أخبار</code>."

	txtHelp = "<b>أوامر البوت</b>\n" +
		"/start — البدء واختيار الأقسام\n" +
		"/sections — الأقسام المتاحة\n" +
		"/subscribe — متابعة قسم، مثل: <code>/subscribe أخبار</code>\n" +
		"/unsubscribe — إلغاء متابعة قسم، أو <code>/unsubscribe all</code> للجميع\n" +
		"/mysubs — الأقسام التي تتابعها\n" +
		"/follow — متابعة كلمة أو عبارة في كل الأقسام، مثل: <code>/follow الكهرباء</code>\n" +
		"/follows — ما تتابعه من كلمات ووسوم، مع أزرار الحذف\n" +
		"/mute — استبعاد ما يذكر كلمة من أخبار أقسامك، مثل: <code>/mute رياضة</code>\n" +
		"/latest — أحدث المقالات، ويمكن ذكر قسم: <code>/latest تقارير</code>\n" +
		"/top — الأكثر متابعة اليوم\n" +
		"/digest — النشرة اليومية في تيليجرام (تفعيل أو إيقاف)\n" +
		"/settings — طريقة وصول الأخبار وساعات الهدوء\n" +
		"/email — النشرة اليومية بالبريد الإلكتروني\n" +
		"/stop — إيقاف كل شيء وحذف بياناتك\n" +
		"<code>/link @قناتك القسم</code> — لمشرفي القنوات: ربط قناتك بقسم لتصلها منشوراته\n" +
		"<code>/follow @قناتك الكلمة</code> — لمشرفي القنوات: لتصلها الأخبار التي تذكر الكلمة، و<code>/follows @قناتك</code> لما تتابعه\n" +
		"/help — هذه القائمة"
	txtHelpGroup = "\n\nفي المجموعات يغيّر المشرفون وحدهم الاشتراكات والإعدادات."
	txtHelpAdmin = "\n\n<b>أوامر المشرفين</b> (هنا فقط)\n" +
		"/stats — الإحصاءات\n" +
		"/feeds — حالة المصادر وآخر أخطائها\n" +
		"/channels — القنوات المرتبطة بالأقسام\n" +
		"<code>/link @channel القسم</code> — ربط قناة بقسم، و<code>/unlink</code> لفكه\n" +
		"<code>/broadcast النص</code> — رسالة إلى جميع القرّاء بعد التأكيد\n" +
		"/pause و/resume — إيقاف إرسال المقالات واستئنافه\n" +
		"<code>/cancel رقم</code> — إلغاء ما تبقّى من إرسال مقال\n" +
		"<code>/retract رقم</code> — سحب مقال وحذف رسائله بعد التأكيد\n" +
		"/held — المواد الموقوفة عن الإرسال لأنها وصلت دفعةً واحدة، و<code>/release رقم</code> أو <code>/release all</code> لإطلاقها\n" +
		"/senddigest — بناء نشرة اليوم وإرسالها الآن\n" +
		"تظهر أرقام المقالات في آخر /latest."
)

// Settings.
const (
	txtSettings = "<b>⚙️ الإعدادات</b>\n" +
		"كيف تريد أن تصلك الأخبار؟\n" +
		"• <b>فورًا</b>: كل مقال لحظة نشره.\n" +
		"• <b>كل ساعة</b>: رسالة واحدة تجمع ما نُشر.\n" +
		"• <b>يوميًا فقط</b>: النشرة اليومية عند الساعة %s.\n\n" +
		"<b>ساعات الهدوء</b> (%s): تنتظر الأخبار حتى الصباح، أو تصل بلا صوت، كما تختار."
	btnInstant     = "⚡ فورًا"
	btnHourly      = "🕐 كل ساعة"
	btnDigestOnly  = "📰 يوميًا فقط"
	btnQuietHold   = "⏸ تأجيل حتى الصباح"
	btnQuietSilent = "🔕 بلا صوت"
	btnQuietOff    = "🔔 إلغاء ساعات الهدوء"
	btnQuietOn     = "🌙 تفعيل ساعات الهدوء"
	btnQuietStart  = "يبدأ الهدوء %s"
	btnQuietEnd    = "ينتهي الهدوء %s"
	btnDigest      = "النشرة اليومية في تيليجرام"
	btnMinus       = "➖"
	btnPlus        = "➕"
	btnConfirm     = "✅ تأكيد"
	btnCancel      = "إلغاء"
)

// Channels and admins.
const (
	txtChannelsHead    = "<b>القنوات المرتبطة بالأقسام</b>"
	txtChannelsNone    = "لا توجد قنوات مرتبطة بالأقسام. اربط قناة عبر <code>/link @channel القسم</code>."
	txtChannelCanPost  = "✅ يمكن النشر"
	txtChannelNoPost   = "⛔ لا يمكن النشر"
	txtChannelUnknown  = "❔ لم يُتحقق بعد"
	txtFromConfig      = "من ملف الإعدادات"
	txtFromRuntime     = "أُضيف من البوت"
	txtLinkUsage       = "الصيغة: <code>/link @channel القسم</code> أو <code>/unlink @channel القسم</code>"
	txtBadChannel      = "اكتب القناة باسمها ‎@username أو بمعرّفها الرقمي ‎-100…"
	txtNoSuchChannel   = "لم أجد هذه القناة: %s. تأكد من اسمها، وأضفني إليها مشرفًا ثم أعد المحاولة."
	txtNotAChannel     = "%s ليست قناة. تُربط بالأقسام القنوات وحدها؛ أما المجموعات فيختار مشرفوها أقسامها عبر /start."
	txtAlreadyLinked   = "%s مرتبطة بقسم «%s» من قبل، ولم يتغير شيء."
	txtLinked          = "تم ربط %s بقسم «%s». %s"
	txtUnlinked        = "تم فك ربط %s بقسم «%s»."
	txtNotLinked       = "%s غير مرتبطة بقسم «%s»."
	txtBotAdminChannel = "📣 صرتُ مشرفًا في القناة %s%s.\n%s"
	txtChannelLinkedTo = "وهي مرتبطة بـ: %s."
	txtChannelLinkHint = "لربطها بقسم أرسل: <code>/link %s القسم</code>"
	txtChannelLost     = "⚠️ لم يعد بإمكاني النشر في القناة %s، وهي مرتبطة بـ: %s. امنحني صلاحية النشر من جديد."
	txtCantPostChannel = "⚠️ لا أستطيع النشر في %s: أضفني إلى القناة مشرفًا بصلاحية النشر."

	txtStatsHead    = "<b>📊 الإحصاءات</b>"
	txtFeedsHead    = "<b>📡 حالة المصادر</b>"
	txtFeedsNone    = "لا توجد مصادر مفعّلة."
	txtFeedOK       = "✅ سليم"
	txtFeedFailing  = "⚠️ يفشل منذ %s، والمحاولات الفاشلة المتتالية: %d"
	txtFeedNever    = "⏳ لم يُجلب بعد"
	txtNotAvailable = "هذا الإجراء غير متاح بعد في محرك الإرسال."

	txtBroadcastHeader = "<b>📣 من أسرة التحرير</b>"
	txtBroadcastUsage  = "اكتب نص الرسالة بعد الأمر: <code>/broadcast النص</code>"
	txtCancelled       = "أُلغي الطلب."
	txtArticleUsage    = "اكتب رقم المقال بعد الأمر، مثل: <code>/%s 123</code>"
	txtArticleNotFound = "لا يوجد مقال بالرقم %d."
	txtHeldNone        = "لا شيء موقوفًا: لم تصل دفعة مريبة من المواد."
	txtHeldHead        = "<b>مواد أوقفتُها عن الإرسال</b> (%s)\nوصلت دفعةً واحدة كبيرة، فلم تُرسل لأحد. أطلق ما يستحق بـ <code>/release رقم</code> أو <code>/release all</code>؛ وما لا تطلقه يبقى محفوظًا دون إرسال.\n"
	txtReleaseUsage    = "اكتب رقم المقال الموقوف بعد الأمر، مثل: <code>/release 123</code>، أو <code>/release all</code> لإطلاقها كلها."
	txtNotHeld         = "المقال رقم %d ليس موقوفًا."
	txtDashboardLink   = "🔐 <b>لوحة التحرير</b>\n<a href=\"%s\">افتح اللوحة</a>\n<code>%s</code>\n\nالرابط لك وحدك، يصلح مرة واحدة خلال 10 دقائق. لا تُعِد توجيهه. للخروج من كل المتصفحات: /logout_all"
	txtLoggedOutAll    = "🔒 خرجت من لوحة التحرير في كل المتصفحات (الجلسات المنتهية: %d)، وبطلت روابط الدخول التي لم تُستعمل."
	txtDigestQueued    = "📨 بُنيت نشرة اليوم «%s»، وهي في طريقها %s."
	txtDigestExists    = "نشرة اليوم موجودة من قبل: «%s»، أُرسلت %s."
	txtDigestNobody    = "لكن لا مشتركين فيها بعد، فلن تصل إلى أحد"
	txtDigestEmpty     = "لا جديد في آخر 24 ساعة، فلا نشرة اليوم."
	txtRetractConfirm  = "سيُسحب المقال «%s» وتُحذف رسائله المرسلة حيث يسمح تيليجرام بذلك. هل أتابع؟"
	txtPaused          = "⏸ أُوقف إرسال المقالات مؤقتًا. الردود على القرّاء مستمرة. للاستئناف: /resume"
	txtResumed         = "▶️ استُؤنف إرسال المقالات."
	txtAlert           = "🔔 <b>تنبيه</b>\n%s"
)

// Coming back, and leaving.
const (
	txtGroupWelcomeBack = "أهلًا من جديد 👋 ما زالت هذه المجموعة تتابع: %s. يغيّر المشرفون ذلك عبر /start، أو يوقفونه كله عبر /stop."
	txtStopConfirm      = "سيتوقف كل ما يصلك من البوت، وتُحذف أقسامك وإعداداتك. هل أتابع؟"
	txtStopConfirmGroup = "سيتوقف كل ما يصل هذه المجموعة من البوت، وتُحذف أقسامها وإعداداتها. هل أتابع؟"
	txtStopKept         = "لم يتغير شيء: ما زلت تتابع أقسامك كما هي."
	btnStop             = "نعم، أوقف كل شيء"
)

// The bot's profile: the description an empty chat shows before /start
// (at most 512 UTF-16 units) and the short description of its profile
// page and shared links (at most 120); both name the site.
const (
	txtBotDescription = "بوت وكالة %s الإخبارية: يصلك فيه ما تنشره الوكالة لحظة نشره، من الأقسام التي تختارها: " +
		"%s.\n\n" +
		"🔴 العاجل يصلك أولًا، ولو في ساعات الهدوء (بلا صوت).\n" +
		"🌙 ساعات هدوء ليلية تختارها، أو الأخبار كل ساعة، أو نشرة يومية واحدة.\n" +
		"📰 نشرة يومية بأهم ما نُشر، هنا أو في بريدك.\n\n" +
		"اضغط «ابدأ» واختر أقسامك. لا يحتفظ البوت إلا بما تختاره، وتحذفه كله بأمر /stop. مع تحيات أسرة تحرير %s."
	txtBotShortDescription = "أخبار وكالة %s لحظة نشرها: اختر أقسامك، والعاجل أولًا، ونشرة يومية."
)

// Channels linked by their own administrators.
const (
	txtAddMeFirst     = "أضفني أولًا إلى %s مشرفًا بصلاحية النشر، ثم أعد الأمر: لا يطلعني تيليجرام على مشرفي القناة قبل ذلك."
	txtNotYourChannel = "لست مشرفًا في %s، فلا أغيّر ما يُنشر فيها بطلبك. يغيّره مشرفوها، أو أسرة التحرير."
	txtOwnerLinked    = "📣 ربط %s، مشرفُ القناة %s، قناتَه بقسم «%s».\nلفك الربط: <code>/unlink %s %s</code>"
	txtOwnerUnlinked  = "📣 فكّ %s، مشرفُ القناة %s، ربطَها بقسم «%s»."
	txtAddedToChannel = "شكرًا لإضافتي إلى %s 🌷 لتصلها منشورات قسم، أرسل هنا: <code>/link %s القسم</code>، مثل: <code>/link %s أخبار</code>"
)

// The digest, as the editors hear of it.
const (
	txtDigestMissed = "فات موعد نشرة اليوم (%s) والبوت متوقف، فلم تُرسل ولن تُرسل متأخرة؛ تصل نشرة الغد في موعدها."
)
