"""Text cues the conversation stage looks for, as regular expressions.

Structure decides first (who speaks, who answers, public or not); these cues are the
"text second" of DESIGN.md: they mark a question, a demand, a move to a private
channel, a call to action, an escalation or an agent's signature, and their matched
words are kept as the *evidence* shown beside every label.

Every pattern is written in the subset that RE2 (DuckDB) and Java regex (Spark) share:
no look-around, no back-references, ``(?i)`` for case. Each is a single capture group
or none, so ``re_extract(pattern, 0)`` returns the words that matched.
"""

from __future__ import annotations

# A direct question: a question mark, or a sentence opened like one ("how do I", "can you").
QUESTION = (
    r"(?i)(\?|(^|[.!\n]\s*|@\w+:?\s+)(how (do|can|does|did|long|much|many|come|to|should|would"
    r"|is|are|could)|what (is|are|do|does|can|should|happened|about)|why (is|are|do|does|did"
    r"|can|would|won'?t|isn'?t|aren'?t|don'?t|doesn'?t|hasn'?t)|when (is|are|will|do|does|can)"
    r"|where (is|are|do|can)|which|can (you|i|we|someone|anyone)|could (you|i|someone)"
    r"|would you|will you|do you|does (it|this|anyone)|is (there|it|this)|are (there|you)"
    r"|any (idea|advice|update|news|help))\b)"
)

# A demand: asks for action or resolution, not just information (SOCIABILITY.md degree 4).
DEMAND = (
    r"(?i)\b(please (help|fix|sort|refund|reply|respond|answer|get back|call|check|look|advise"
    r"|explain|resolve|cancel|change|send|let me know|do something|contact)|pls help|plz help"
    r"|help me|need (help|a fix|a refund|my money|an answer|assistance|support)"
    r"|i (want|need|demand|expect|deserve) (a|an|my|the|to|you|your|this|it|some|someone)\b|want (my|a) (refund|money)|(fix|sort) (this|it|that"
    r"|my|your)|sort (it|this) (\w+ )?out|refund me|give me|get back to me|respond to me"
    r"|reply to me|or even reply|(any|some) help|any advice|get on this|the urgency|asap"
    r"|i need a fix|do something|(fix|sort|solve|resolve|repair|update) [^.!?]{0,40}\bplease)\b"
)

# Public escalation and repeated asks: "still waiting", tagging authorities, counting days.
ESCALATION = (
    r"(?i)\b(still (waiting|no|not|nothing|haven'?t|having|unable|can'?t|broken)|no (reply"
    r"|response|answer|one (has|is|answers))|(hours|days|weeks) (ago|now|later|and)"
    r"|(over|for) \d+ (hours|days|weeks)|(second|third|fourth|\d+(st|nd|rd|th)) time"
    r"|again and again|yet again|asked (you )?(before|already|twice)|already (told|asked|sent"
    r"|did|tried)|escalat\w*|complain(t|ed)? to|bbb|ombudsman|lawyer|trading standards"
    r"|refuse to (listen|reply|respond|help)|ignor(e|ed|ing) (me|us|my)|nobody (replies"
    r"|answers|cares|helps)|the urgency)\b"
)

# A move from public to a private channel ("please DM us", phone, e-mail, secure chat).
MOVE_PRIVATE = (
    r"(?i)(\b(dms?|dm'?d|dming|dm'?ed)\b|direct (message|msg)|private (message|msg)"
    r"|\bpm (us|me)\b|send us a (private )?(message|note)|\binbox\b|contact us|reach (out to )?us"
    r"|get in touch|give us a (call|ring)|call us|call (our|the) (team|number|store|helpline|help line"
    r"|support|care|office|customer|hotline|branch)|by phone|phone (us|number"
    r"|line)|e-?mail (us|address|me)|via e-?mail|live chat|(by|via) chat|chat (with us|team"
    r"|support)|secure(d)? (link|chat|message|form)|private (secure(d)? )?link|answer desk"
    r"|(customer|support) (care|service|support) team|(submit|open|raise) a (ticket|case"
    r"|request)|\+?\d[\d ()-]{8,}\d)"
)

# Bait in a brand's broadcast (seed 002, business degree 2): register, download, click...
CALL_TO_ACTION = (
    r"(?i)\b(register|sign up|signup|download|click|tap (here|the link)|follow (us|along)"
    r"|enter (now|to win|the|our|for)|submit (your|a)|subscribe|join (us|now|the)"
    r"|chance to win|for a chance|giveaway|contest|pre-?order (now|today|yours)|shop now"
    r"|buy now|learn more|get yours|book now|rsvp|sign-up)\b"
)

# An agent's signature at the end of a tweet (^MK, *AMC, -KK, - Matt), read on the text
# without its links: how customer-care teams sign on Twitter. An account that signs like
# this speaks for a brand even when the corpus anonymised it as a number (twcs).
SIGNATURE = r"([\^\*]\s?[A-Z][A-Za-z]{0,14}|\s-\s?[A-Z][A-Za-z]{0,14})\.?\s*$"

# What a brand reply does, when it does not engage with the substance (business degree 3):
# acknowledge, thank, apologise, log feedback, or point elsewhere without answering.
ACKNOWLEDGE = (
    r"(?i)\b(thanks?( you)? for|thank you|sorry|apologi[sz]e|we apologi|appreciate|glad"
    r"|happy to help|we'?re here|shared? (your|this|these|the) (feedback|comments)"
    r"|pass(ed)? (this|it|your \w+) (on|along)|fed (this|it) back|feed(back)? (this )?back"
    r"|log(ged)? (this|it|your)|aware (of|and)|working on (it|this|a fix)|look into|looking into"
    r"|keep (us|you) posted|have a (great|good|nice|wonderful)"
    r"|you'?re welcome|see you)\b"
)

# The brand asks for details: a question, or "let us know the platform", "please share...".
PROBE = (
    r"(?i)(\?|let (us|me) know (the|your|which|what|if|how|when|where|a few)|(please|kindly)"
    r" (provide|share|send|confirm|tell|describe|clarify)|can you (tell|share|send|provide"
    r"|confirm|describe)|(get|come) back to us with)"
)

# Pointing to a resource instead of answering: a link, a help page, "see our...".
RESOURCE = r"(?i)(https?://|www\.|\b(visit|see|check out|head to|take a look at) (this|our|the)\b)"

# URLs, @handles and agent signatures are removed before comparing brand wording.
URL = r"https?://\S+"
HANDLE = r"@\w+"
