"""Intent of customer messages and the brand's action in its replies, by transparent rules.

Seed 001 asks the system to know what a customer wants before it routes the message;
seeds 002/003 read a brand's sociability from what it *does* in a reply (answers, or only
acknowledges and deflects). Both are labelled here by regular expressions, each rule
named, so every label comes with its reason: the rule that fired and the words it
matched (``"complaint: problem 'not working'"``).

Labels (:data:`INTENTS`, customer side): ``complaint`` (reports a problem or shows
dissatisfaction), ``request`` (asks the brand to act: fix, refund, call, reply),
``question`` (asks for information), ``feedback`` (a suggestion or idea), ``praise``
(thanks, compliments), ``announcement`` (a broadcast or promotion), ``other``.

Actions (:data:`ACTIONS`, brand side): ``answer`` (troubleshooting steps or the
information asked for), ``move_private`` (asks for a DM, a call, a chat, an e-mail),
``ask_details`` (asks for the order number, device, version, a screenshot...),
``resource`` (a link, a help page), ``apologise``, ``thank``, ``other``.

A message can carry several (:func:`intent_flags`, :func:`action_flags`); the single
label is the first that fired in the order of :data:`INTENTS` / :data:`ACTIONS`, which
puts what needs handling first (a complaint phrased as a question is a complaint; a
reply that troubleshoots and then offers a DM is an answer).

Rules run as RE2 over whole Arrow columns (``pyarrow.compute``), one pass per label, so
the cost per message is a few microseconds. They were written from the twcs customer-care
sample and the Ericsson label definitions (Kecht et al., ICPM 2021); evaluation and its
caveats: ``eval/sentiment_intent.py`` and ``docs/evaluation-conversations-text.md``.

Example
-------
>>> labels, reasons = classify_intent(["@AmazonHelp where is my order?? still waiting"])
>>> labels[0], reasons[0]
('complaint', "complaint: problem 'still waiting'; also question: question mark '?'")
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

INTENTS: tuple[str, ...] = (
    "complaint",
    "request",
    "question",
    "feedback",
    "praise",
    "announcement",
    "other",
)
ACTIONS: tuple[str, ...] = (
    "answer",
    "move_private",
    "ask_details",
    "resource",
    "apologise",
    "thank",
    "other",
)

# Every pattern runs on lower-cased text with typographic apostrophes made plain, in the
# RE2 subset (no look-around, no back-references, only non-capturing groups).
_CANT = r"(?:can'?t|cannot|unable to|couldn'?t|won'?t|doesn'?t|didn'?t|not able to)"

# Each rule: (name, pattern) or (name, pattern, unless): it fires where ``pattern`` matches
# and ``unless`` does not ("can't wait" is not a complaint).
Rule = tuple[str, ...]
INTENT_RULES: dict[str, tuple[Rule, ...]] = {
    "complaint": (
        (
            "problem",
            r"\b(?:not working|isn'?t working|aren'?t working|doesn'?t work|won'?t work"
            r"|stopped working|not loading|won'?t load|keeps? (?:crashing|freezing|dropping"
            r"|disconnecting|restarting|failing|cutting out|logging me out|buffering|asking)"
            r"|(?:is|are|was|were|been|went|goes|seems to be) down|outages?|broken|broke"
            r"|glitch\w*|bugs?|buggy|error|crash\w*|freez\w*|frozen|corrupt\w*|stuck"
            r"|(?:not|never|hasn'?t|haven'?t|didn'?t) (?:been )?(?:received|arrived|delivered|got"
            r"|came|come|shown up|showed up|heard)|lost (?:my|our|the)|missing|damaged|delay\w*"
            r"|cancell?ed (?:my|our|on)|overcharg\w*|charged (?:me )?(?:twice|double|again|for)"
            r"|wrong (?:item|order|size|address|product|one)|no (?:signal|service|internet"
            r"|connection|wifi|wi-fi)|still (?:waiting|not|no|nothing|haven'?t|can'?t|having"
            r"|broken|unable)|on hold|hung up|been waiting|no (?:response|reply|answer|resolution"
            r"|one (?:answers|responds|replies|helps|is able))|(?:having|have|had|got|getting)"
            r" (?:an? |the |some |same |this |these |many )?(?:issues?|problems?|trouble)"
            r"|(?:issues?|problems?) (?:with|again)|same (?:bug|issue|problem)|not (?:happy"
            r"|impressed|pleased|satisfied|fair|acceptable|ok|okay)|complain\w*|shouldn'?t (?:be|have)"
            r"|without (?:any|a|an) (?:attempt|response|reply|explanation|notice|refund|warning)"
            r"|(?:wasn'?t|weren'?t|isn'?t|aren'?t) (?:ready|willing|told|informed|notified|helpful)"
            r"|(?:boots?|kicks?|kicked|booted|logs?|logged) me (?:out|off)"
            r"|(?:goes|went|happened|happening|down|broken|crashed|failed) again|yet again"
            r"|(?:second|third|fourth|\d+(?:st|nd|rd|th)) time|(?:several|many|multiple|\d+) times"
            r"|(?:waiting|waited|wait|hold|been|took|taken|taking|delayed|stuck|late) (?:for |over"
            r" |nearly |almost |about )?(?:\d+|two|three|four|five|several) (?:hours|days|weeks"
            r"|months|minutes|mins|hrs)|(?:\d+|two|three|four|five|several) (?:hours|days|weeks"
            r"|months) (?:now|later|and still|without)|no luck|not possible|no way to"
            r"|without (?:internet|power|service|wifi|wi-fi|signal|phone|tv|heat|water|a refund"
            r"|my \w+)|wrong (?:\w+ )?(?:location|address|item|order|size|product|one|number"
            r"|account|bag|place|information|info|name|date|time)|instead of (?:the|my)"
            r"|(?:doesn'?t|does not|dosn'?t|dosnt|dont|don'?t|didn'?t) (?:work|load|arrive|show"
            r"|connect)|the (?:issue|problem) is|there'?s (?:definitely |still |an? )*(?:issue"
            r"|problem)|already (?:did|tried|done)|i'?ve (?:already )?(?:done|tried) (?:that|this"
            r"|it|everything)|not helpful|inconvenienc\w*|forgot (?:to|my)|(?:why|what) the hell"
            r"|fraud\w*|shady|worried|unjustifi\w*|this (?:is|was) (?:so )?(?:unfair|wrong|bad"
            r"|stupid|insane|crazy))\b",
        ),
        (
            "cannot",
            r"\b" + _CANT + r" \w+",
            r"\b(?:(?:can'?t|cannot|couldn'?t) (?:wait|pass|resist|stop smiling|help but)"
            r"|won'?t (?:want|regret)|didn'?t (?:lose|loose|have to))\b",
        ),
        (
            "negative word",
            r"\b(?:ridiculous|worst|terrible|awful|horrible|horrendous|useless"
            r"|unacceptable|disappoint\w*|frustrat\w*|annoy\w*|angry|furious|fuming|disgust\w*"
            r"|disgrace\w*|pathetic|rubbish|garbage|trash|crap|crappy|shit\w*|sucks?|fuck\w*|wtf"
            r"|smh|hate|rude|incompeten\w*|shambles|nightmare|joke|scam\w*|rip ?off|ripped off"
            r"|lied|liars?|lying|unhelpful|appalling|abysmal|poor|worse|fail\w*|#\w*fail\w*"
            r"|unbelievable|sick of|tired of|fed up|waste of|never again|lost (?:a|my) customer"
            r"|switching to|cheap|dishonest\w*|criminals?|robbery|theft|stole|morons?|idiots?"
            r"|stupid|dumb|clowns?|boo)\b",
        ),
        (
            "angry emoji",
            "(?:\U0001f621|\U0001f92c|\U0001f620|\U0001f624|\U0001f612"
            "|\U0001f644|\U0001f629|\U0001f62b|\U0001f44e|\U0001f61e|\U0001f622|\U0001f62d"
            "|\U0001f926)",
        ),
    ),
    "request": (
        (
            "please + verb",
            r"\b(?:please|pls|plz|kindly) (?:\w+ )?(?:help|fix|sort|check|refund"
            r"|send|look|reply|respond|call|dm|tell|let|cancel|get back|advise|assist|resolve"
            r"|contact|change|update|broadcast|add|remove|stop|give|provide|confirm|escalate"
            r"|investigate|drop|do|reply|make)\b",
        ),
        (
            "can you + verb",
            r"\b(?:can|could|would|will) (?:you|u|someone|somebody|anyone|y'?all)"
            r" (?:please |pls |plz |just )?(?:help|fix|sort|check|refund|send|look|reply|respond"
            r"|call|dm|tell|let|cancel|get back|advise|assist|resolve|contact|change|update|remove"
            r"|stop|give|provide|escalate|investigate|reach out|email|follow"
            r"|@ me|unlock|reset|reinstate|restore|credit|replace|deliver|refund|honou?r|waive"
            r"|match|extend|move|transfer|reactivate|activate)\b",
        ),
        (
            "i want / need",
            r"\b(?:i|we) (?:want|need|would like|'d like|demand|expect|require)"
            r" (?:a |my |the |our |an |to (?:speak|talk|cancel|get|return|change|be refunded"
            r"|have|file|make)|you to|someone to|help|assistance|support|refund|compensation)",
        ),
        (
            "demand",
            r"\b(?:need|want) (?:further |more |some |urgent )?(?:help|assistance"
            r"|support|a refund|my money|an answer)\b"
            r"|\bhelp (?:me|us|please|pls|plz)\b|\bhelp ?[!?]|^(?:@\w+ )*help\b|\b(?:fix|sort)"
            r" (?:this|it|that|my|your|the)\b|\bsort (?:it|this) out\b|\brefund me\b"
            r"|\bget back to me\b|\bdm me\b|\b(?:reply|respond) (?:to me"
            r"|on|please|asap)|\basap\b|\bdo something\b|\bany chance (?:you|u) could\b"
            r"|\bcancel my\b|\bneed (?:corporate|a manager|someone)\b|\bneed to fix\b",
        ),
    ),
    "question": (
        ("question mark", r"\?"),
        (
            "question words",
            r"(?:^|[.!?] |^(?:@\w+ )+)(?:(?:how|what|why|when|where|which|who"
            r"|whose) |(?:is|are|was|were) (?:there|you|it|this|that|anyone|someone)\b|(?:do|does"
            r"|did|can|could|will|would|should|has|have|may) (?:you|u|i|we|they|it|this|that"
            r"|anyone|someone|anybody|somebody)\b)",
        ),
        (
            "asks to know",
            r"\b(?:(?:would like|'d like|want|need) to know|wanna know|wondering"
            r"|any (?:idea|update|news|info|advice)|anyone know|is there (?:a|any)|how (?:do|can"
            r"|to|long|much|come)|what (?:is|are|does|should|happened)|what'?s going on)\b",
        ),
    ),
    "feedback": (
        (
            "suggestion",
            r"\b(?:you (?:guys |all )?should|y'?all should|should (?:add|have|make"
            r"|let|allow|bring|consider|offer|introduce|update|be able)|would be (?:nice|great"
            r"|good|cool|better|awesome|helpful) if|it'?d be (?:nice|great|good|cool) if"
            r"|(?:i |we )?wish (?:you|there|it|i could|we could|they)|why not|suggest\w*"
            r"|(?:an|my|one|good|great) idea|idea for"
            r"|feature request|bring (?:back|it back)|please (?:add|bring|make|allow|consider"
            r"|let us)|what if you|imagine if|option to|ability to|hope you (?:add|fix"
            r"|bring|make|consider)|needs? (?:an? )?(?:option|feature|update|button|setting)"
            r"|update your (?:software|app|system|site|website)|maybe (?:you|push|add|make))\b",
        ),
    ),
    "praise": (
        (
            "thanks",
            r"\b(?:thanks|thank you|thank u|thx|ty|tysm|cheers|appreciate\w*|grateful"
            r"|kudos|shout ?outs?|props to)\b",
        ),
        (
            "compliment",
            r"\b(?:love (?:it|this|you|the|my|that|how|your)|loving|great (?:job"
            r"|service|support|work|team|experience|customer service|help)|excellent|amazing"
            r"|awesome|fantastic|brilliant|wonderful|outstanding|superb|impressed|perfect"
            r"|delicious|delighted|happy with|glad|helpful|well done|good job|5 stars|legend"
            r"|lifesaver|you rock|blessing|the best|best (?:service|support|company|airline|app))\b",
            r"\bnot (?:\w+ )?(?:impressed|delighted|happy|glad|helpful|perfect|amazing|great"
            r"|excellent|awesome)\b",
        ),
        (
            "happy emoji",
            "(?:\u2764|\U0001f60d|\U0001f64f|\U0001f44f|\U0001f44d|\U0001f970"
            "|\U0001f60a|\U0001f601|\U0001f604|\U0001f64c|\U0001f4af|\U0001f49c|\U0001f499)",
        ),
    ),
    "announcement": (
        (
            "call to action",
            r"\b(?:register|sign up|download now|click|enter (?:now|to win)"
            r"|giveaway|contest|sweepstakes|pre-?order (?:now|today|yours)|shop now|buy now"
            r"|learn more|get yours|book now|don'?t miss|won'?t want to miss|now (?:available"
            r"|streaming|live|open|on sale)|launch(?:es|ed|ing)|coming soon|out now|introducing"
            r"|announc\w*|stay tuned|tune in|join us|follow us|rt to win|#ad|#sponsored"
            r"|#giveaway|#contest|check (?:it|this|them) out|(?:days|weeks) (?:left|away)"
            r"|are you ready|pre-?order #\w+)\b",
        ),
    ),
}

# An organisation's voice, a link and no addressee in front: a broadcast (checked in code).
_BROADCAST_VOICE = r"\b(?:we|we'?re|we'?ve|our|us)\b"
_FIRST_PERSON = r"\b(?:i|i'?m|i'?ve|i'?d|my|me)\b"
_LINK = r"https?://|www\."

ACTION_RULES: dict[str, tuple[Rule, ...]] = {
    "answer": (
        (
            "troubleshooting",
            r"\b(?:try|tried|trying) (?:\w+ing|to|a|the|again)\b|\b(?:restart"
            r"\w*|reboot\w*|reset\w*|reinstall\w*|re-install\w*|uninstall\w*|log ?out|sign ?out"
            r"|log back in|sign back in|clear (?:the |your )?(?:cache|cookies|data|history)"
            r"|force (?:quit|close|restart)|turn (?:it |\w+ )?(?:off|on)|go to|head to|tap (?:on )?"
            r"|settings ?>|toggle|back up and update|update to)\b",
        ),
        (
            "information",
            r"\byou (?:can|could|will|'ll|need to|should|may|might|would need to)"
            r" (?:\w+ )?(?:find|select|use|choose|request|return|cancel|change|update|manage|see"
            r"|get|receive|expect|be|still|now|do|try|speak|contact|report|view|opt|turn|visit"
            r"|read|check|block)\b|\b(?:is|are|was|has been|have been|will be|'s|'re|should be)"
            r" (?:now )?(?:available|released|fixed|resolved|refunded|credited|delivered"
            r"|dispatched|shipped|back|restored|working|reopening|up and running|expected"
            r"|scheduled|due|on (?:its|the) way|accepted|eligible|closed|open)\b|\b(?:we'?ve"
            r"|we have|i'?ve|i have) (?:\w+ )?(?:fixed|resolved|refunded|credited|sent|issued"
            r"|processed|cancell?ed|updated|escalated|added|removed|reset|reported|checked"
            r"|confirmed)\b|\b(?:expected|estimated) (?:delivery|arrival|to)\b|\bdeliver(?:ed|y)?"
            r" (?:by|on|within|date)\b|\bwill (?:arrive|be delivered|reach you)\b|\bunfortunately"
            r"\b|\b(?:isn'?t|is not|aren'?t|are not|not) (?:available|supported|possible"
            r"|eligible|offered)\b|\bno longer (?:supported|available|offered)\b|\b(?:our|the)"
            r" (?:policy|terms)\b|\b(?:it|this) (?:will|should|may) (?:be|take)\b",
        ),
    ),
    "move_private": (
        (
            "dm",
            r"\b(?:dm|dms|dm'?d|dming|direct (?:message|msg)|private (?:message|msg)"
            r"|message us|inbox|pm (?:us|me)|send (?:us|me) a (?:private )?(?:message|note|dm)"
            r"|mensajes? (?:privados?|directos?)|md)\b",
        ),
        (
            "phone",
            r"\b(?:call|phone|ring) (?:us|me|our|the)\b|\bgive (?:us|me) a (?:call|ring)\b"
            r"|\bgive you a call\b|\bcall you\b|\b(?:by|via|over the) phone\b|\bphone (?:us|number"
            r"|line|support)\b|\b1[- ]?8\d\d[- ]?\d{3}[- ]?\d{4}\b|\b\d{3}[-. ]\d{3}[-. ]\d{4}\b",
        ),
        (
            "chat or e-mail",
            r"\b(?:by|via|through) (?:chat|live chat|e-?mail)\b|\blive chat\b"
            r"|\bchat (?:with us|team|support)\b|\b(?:email|e-mail) (?:us|me)\b"
            r"|\breach (?:out to )?us (?:by|via|on|at|here)\b|\bcontact us\b|\bcontact (?:our|the)"
            r" (?:\w+ )?(?:team|directly)\b|\bsecure (?:link|chat|message|form)\b",
        ),
    ),
    "ask_details": (
        ("question", r"\?"),
        (
            "asks for details",
            r"\b(?:can|could|would) you (?:please )?(?:tell|share|send"
            r"|provide|confirm|describe|clarify|let us know|dm|give)\b|\b(?:please|kindly|pls)"
            r" (?:\w+ )?(?:provide|share|send|confirm|tell|describe|clarify|let us know)\b"
            r"|\blet (?:us|me) know (?:the|your|which|what|if|how|when|where|a few|more)\b"
            r"|\b(?:send|dm|provide|share) (?:us |me )?(?:with )?(?:your|the) (?:\w+ ){0,3}"
            r"(?:email|username|account|booking|order|reference|confirmation|number|details|name"
            r"|address|postcode|zip|model|version|screenshot|info\w*)|\bscreenshot\b"
            r"|\berror message\b|\b(?:provide|share|send|give|need|tell) (?:us |me )?(?:with )?(?:some"
            r" |a few |more |additional |the )?(?:details|info\w*)\b|\b(?:which|what) (?:version|device"
            r"|model|country|type|platform|browser|os|happens|exactly)\b",
        ),
    ),
    "resource": (
        ("link", r"https?://\S+|www\.\S+"),
        (
            "help page",
            r"\b(?:help page|support page|user guide|support article|help center"
            r"|help centre|faq|knowledge base|our (?:site|website|community))\b",
        ),
    ),
    "apologise": (
        (
            "apology",
            r"\b(?:sorry|apolog\w*|regret|lamentamos|disculp\w*|entschuldig\w*"
            r"|not the experience we|for (?:the|any) inconvenience)\b",
        ),
    ),
    "thank": (
        (
            "thanks",
            r"\b(?:thanks|thank you|thx|ty|we appreciate|appreciate (?:you|your|it|the)"
            r"|gracias|danke|cheers|grateful)\b",
        ),
    ),
}


def _prepare(texts: Sequence[str] | pa.Array | pa.ChunkedArray) -> tuple[pa.Array, pa.Array]:
    """(lower-cased text the rules match on, original-case text the reasons quote)."""
    arr = (
        texts
        if isinstance(texts, pa.Array | pa.ChunkedArray)
        else pa.array([t if isinstance(t, str) else None for t in texts], type=pa.string())
    )
    arr = pc.fill_null(pc.cast(arr, pa.string()), "")
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    original = pc.replace_substring(arr, "\u2019", "'")
    return pc.utf8_lower(original), original


def _run(
    text: pa.Array, original: pa.Array, rules: dict[str, tuple[Rule, ...]]
) -> tuple[dict[str, np.ndarray], dict[str, list[str | None]]]:
    """For each label: a bool mask and, where it fired, ``"rule 'matched words'"``."""
    flags: dict[str, np.ndarray] = {}
    reasons: dict[str, list[str | None]] = {}
    n = len(text)
    for labl, label_rules in rules.items():
        mask = np.zeros(n, dtype=bool)
        why: list[str | None] = [None] * n
        for name, pattern, *unless in label_rules:
            hit = pc.match_substring_regex(text, pattern).to_numpy(zero_copy_only=False)
            if unless:
                hit &= ~pc.match_substring_regex(text, unless[0]).to_numpy(zero_copy_only=False)
            new = np.flatnonzero(hit & ~mask)
            if len(new):
                found = pc.extract_regex(original.take(pa.array(new)), f"(?i)(?P<m>{pattern})")
                words = found.field("m").to_pylist()
                for i, w in zip(new, words, strict=True):
                    why[i] = f"{name} '{w.strip()}'"
            mask |= hit
        flags[labl] = mask
        reasons[labl] = why
    return flags, reasons


def _pick(
    flags: dict[str, np.ndarray], reasons: dict[str, list[str | None]], order: Sequence[str]
) -> tuple[list[str], list[str]]:
    n = len(next(iter(flags.values())))
    labels: list[str] = []
    why: list[str] = []
    names = [o for o in order if o in flags]
    for i in range(n):
        fired = [o for o in names if flags[o][i]]
        if not fired:
            labels.append("other")
            why.append("other: no rule fired")
            continue
        labels.append(fired[0])
        text = f"{fired[0]}: {reasons[fired[0]][i]}"
        if len(fired) > 1:
            text += "; also " + ", ".join(f"{o}: {reasons[o][i]}" for o in fired[1:])
        why.append(text)
    return labels, why


def intent_flags(texts: Sequence[str] | pa.Array) -> tuple[dict[str, np.ndarray], dict]:
    """Every intent rule on every text: ``({label: bool array}, {label: [reason|None]})``."""
    text, original = _prepare(texts)
    flags, reasons = _run(text, original, INTENT_RULES)
    # A broadcast: not addressed to anyone, a link, an organisation's voice, no "I/my".
    not_reply = ~pc.starts_with(text, "@").to_numpy(zero_copy_only=False) & ~pc.starts_with(
        text, ".@"
    ).to_numpy(zero_copy_only=False)
    voice = pc.match_substring_regex(text, _BROADCAST_VOICE).to_numpy(zero_copy_only=False)
    first = pc.match_substring_regex(text, _FIRST_PERSON).to_numpy(zero_copy_only=False)
    link = pc.match_substring_regex(text, _LINK).to_numpy(zero_copy_only=False)
    broadcast = not_reply & voice & link & ~first & ~flags["announcement"]
    for i in np.flatnonzero(broadcast):
        reasons["announcement"][i] = "broadcast 'we/our + link, addressed to no one'"
    flags["announcement"] = flags["announcement"] | broadcast
    return flags, reasons


def classify_intent(texts: Sequence[str] | pa.Array) -> tuple[list[str], list[str]]:
    """Intent of each customer message and why: ``(labels, reasons)``, one per text.

    The label is the first of :data:`INTENTS` whose rules fired (``other`` if none); the
    reason names the rule and the words it matched, then the other intents that fired.
    """
    flags, reasons = intent_flags(texts)
    return _pick(flags, reasons, INTENTS)


def action_flags(texts: Sequence[str] | pa.Array) -> tuple[dict[str, np.ndarray], dict]:
    """Every action rule on every brand reply: ``({action: bool array}, {action: [reason]})``."""
    return _run(*_prepare(texts), ACTION_RULES)


def classify_action(texts: Sequence[str] | pa.Array) -> tuple[list[str], list[str]]:
    """The brand's action in each reply and why: ``(labels, reasons)``, one per text.

    The label is the first of :data:`ACTIONS` whose rules fired (``other`` if none), so
    a reply that answers and also asks for a DM counts as an answer (seed 003: engaging
    with the substance), and one that only apologises and links a page is ``resource``.
    """
    flags, reasons = action_flags(texts)
    return _pick(flags, reasons, ACTIONS)
