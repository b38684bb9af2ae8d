"""High-recall patterns for clinical-eligibility questions, personal or not.

The bot never answers "can I do KAP if I take lithium?", "is it safe while breastfeeding?" or
"can you take ketamine on SSRIs?": whether KAP suits someone turns on that person's own
medications, conditions or circumstances, which only the clinic's clinicians can weigh, so such
a question goes to a human however it is phrased. The classifier learns the `eligibility`
intent from examples; these patterns back it up, like the crisis ones.

A message is an eligibility question when it names

- pregnancy, breastfeeding or trying to conceive ("is it safe while breastfeeding?");
- a condition someone has or had: bipolar, schizophrenia, psychosis, heart disease, high blood
  pressure, glaucoma, epilepsy, existing bladder or kidney problems, ADHD, substance or alcohol
  use ("can people with bipolar do KAP?", "is it risky for someone with a history of psychosis?");
- a medication name or class (SSRIs, SNRIs, MAOIs, lithium, lamotrigine, benzodiazepines,
  buprenorphine, methadone, stimulants...) together with ketamine or the treatment ("can you
  take ketamine on SSRIs?", "does lithium interact with ketamine?");
- age ("I'm 17", "is there an age limit?", "can teenagers do KAP?");
- candidacy ("am I a candidate", "will I qualify", "who is a good candidate", "is it safe for
  someone who...", "is it right for me").

General questions about the treatment stay with the FAQ: "how safe is KAP?", "does ketamine raise
blood pressure?", "is ketamine addictive?", "can ketamine cause psychosis?" (a condition the
treatment might cause is a risk of it, not a fact about the person). Comparisons of medications
with ketamine ("do SSRIs take longer than ketamine?") and medications without ketamine or the
treatment ("what is lithium prescribed for?") are not eligibility questions either. With a
personal reference (I, my, he, she... but not hearsay such as "I read that...") medication
classes and age words count with a framing that makes them current use or suitability: "I'm on
antidepressants", "can I still do it", "is it safe", "does it interact".

Crisis patterns take precedence: "I took too much of my lithium" is a crisis, not a question
about eligibility. Typos are absorbed by matching long key words within one or two edits, through
a precomputed index of deletion variants (SymSpell's idea), with at most MAX_COMPARISONS
edit-distance comparisons per message, and only the first MAX_CHECKED_CHARS characters are
read, so any message, however long or made-up, costs about what a short question does.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# ------------------------------------------------------------------------------ normalising
_CONTRACTIONS = [
    (r"\bcan't\b", "can not"),
    (r"\bwon't\b", "will not"),
    (r"n't\b", " not"),
    (r"'m\b", " am"),
    (r"'re\b", " are"),
    (r"'ve\b", " have"),
    (r"'ll\b", " will"),
    (r"'d\b", " would"),
    (r"'", ""),  # possessive 's and stray apostrophes: "mom's" -> "moms"
]
_SLANG = {
    "im": "i am",
    "ive": "i have",
    "cant": "can not",
    "dont": "do not",
    "doesnt": "does not",
    "isnt": "is not",
    "didnt": "did not",
    "u": "you",
    "r": "are",
    "pls": "please",
    "yo": "years old",
    "yr": "year",
    "yrs": "years",
    "mum": "mom",
    "mam": "mom",
    "y/o": "years old",
}

# Long words that visitors misspell; any token within one edit (two for words of ten letters
# or more) is read as the word. Short or common-looking words are deliberately absent
# ("manic" is one letter from "panic").
_KEY_WORDS = """
    bipolar schizophrenia schizophrenic schizoaffective psychosis psychotic glaucoma epilepsy
    epileptic hypertension hypertensive arrhythmia pacemaker alcoholic alcoholism addict addicted
    addiction candidate eligible eligibility qualify disqualify suitable pregnant
    pregnancy breastfeeding conceive sertraline zoloft fluoxetine prozac escitalopram lexapro
    citalopram celexa paroxetine venlafaxine effexor duloxetine cymbalta bupropion wellbutrin
    mirtazapine trazodone phenelzine tranylcypromine parnate selegiline lithium lamotrigine
    lamictal depakote quetiapine seroquel aripiprazole abilify olanzapine risperidone clozapine
    benzodiazepine benzodiazepines alprazolam klonopin clonazepam ativan lorazepam diazepam
    adderall ritalin vyvanse concerta methylphenidate stimulant stimulants methadone suboxone
    buprenorphine naltrexone antidepressant antidepressants antipsychotic antipsychotics
    propranolol metoprolol warfarin
""".split()
# English words within reach of a key word (checked against spaCy's English word list): they
# stay themselves.
_KEEP = set(
    """
    ability addition alcohol alcohols concert concerto concerts legibility quality stimulate
    stimulates stimulated
    """.split()
)


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (a swap of two neighbours is one edit)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def _deletions(word: str, depth: int) -> set[str]:
    """`word` and every string made from it by deleting up to `depth` letters."""
    found = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        found |= frontier
    return found


def _allowed_edits(key: str) -> int:
    return 2 if len(key) >= 10 else 1


def _build_typo_index() -> dict[str, tuple[int, ...]]:
    """Deletion variant -> positions in _KEY_WORDS of the key words it comes from. Two strings
    within k edits share a variant made with at most k deletions from each, so a word's own
    variants find every key word close to it; the real distance then decides."""
    index: dict[str, set[int]] = {}
    for position, key in enumerate(_KEY_WORDS):
        for variant in _deletions(key, _allowed_edits(key)):
            index.setdefault(variant, set()).add(position)
    return {variant: tuple(sorted(keys)) for variant, keys in index.items()}


_TYPO_INDEX = _build_typo_index()
_KEY_WORD_SET = frozenset(_KEY_WORDS)


_LONGEST_KEY = max(len(key) for key in _KEY_WORDS)
# Typo fixing compares a message's words with at most this many key words (edit distance); the
# words after that stay as typed. Ordinary questions need a handful at most (the training and
# evaluation examples: see tests/unit/nlu/test_eligibility_patterns.py), so only a message made to
# be costly ever reaches it.
MAX_COMPARISONS = 24


@lru_cache(maxsize=8192)
def _candidates(word: str) -> tuple[int, ...]:
    """Positions in _KEY_WORDS of the key words that may be within reach of `word`, in
    _KEY_WORDS order (the first close key wins)."""
    # A word more than two letters longer than every key word is within reach of none: its
    # deletion variants, thousands for a long made-up word, are never built.
    if len(word) < 5 or len(word) > _LONGEST_KEY + 2 or word in _KEEP or word in _KEY_WORD_SET:
        return ()
    # Two edits are allowed only against key words of ten letters or more: a shorter word
    # cannot be within two edits of one.
    depth = 2 if len(word) >= 8 else 1
    return tuple(
        sorted({p for variant in _deletions(word, depth) for p in _TYPO_INDEX.get(variant, ())})
    )


def fix_typos(words: list[str]) -> tuple[list[str], int]:
    """`words` with those within one or two edits of a key word read as that key word, and
    how many edit-distance comparisons that took (never more than MAX_COMPARISONS)."""
    fixed, compared = [], 0
    for word in words:
        for position in _candidates(word):
            if compared == MAX_COMPARISONS:
                break
            compared += 1
            key = _KEY_WORDS[position]
            if _edit_distance(word, key, _allowed_edits(key)) <= _allowed_edits(key):
                word = key
                break
        fixed.append(word)
    return fixed, compared


# Questions are short; a long message is read up to here (at a word boundary), so its cost is
# bounded. An eligibility question hidden after this many characters is left to the classifier.
MAX_CHECKED_CHARS = 600


def _head(text: str) -> str:
    if len(text) <= MAX_CHECKED_CHARS:
        return text
    cut = text[:MAX_CHECKED_CHARS]
    return cut.rsplit(None, 1)[0] if " " in cut else cut


@lru_cache(maxsize=1024)
def normalise(text: str) -> str:
    """Lower case, plain quotes, contractions spelled out, common typos of key words fixed."""
    text = unicodedata.normalize("NFKC", _head(text)).lower()
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    for pattern, replacement in _CONTRACTIONS:
        text = re.sub(pattern, replacement, text)
    text = re.sub(r"(\d)(yo|y/o|yrs?|years?|mg|ml|kgs?|lbs?|weeks?|wks?|months?)\b", r"\1 \2", text)
    text = re.sub(r"[^a-z0-9/%$]+", " ", text)
    words = [_SLANG.get(word, word) for word in text.split()]
    return " ".join(fix_typos(" ".join(words).split())[0])


# ---------------------------------------------------------------------- personal reference
_PERSONAL = re.compile(
    r"\b(?:i|me|my|mine|myself|we|us|our|ours|ourselves|he|him|his|himself|she|her|hers|herself)\b"
)
# "I read that...", "I was wondering whether people with...": the visitor is asking about
# others, so these words alone do not make the question personal.
_HEARSAY = re.compile(
    r"\bi (?:have |had )?(?:read|heard|saw|seen|noticed|was told|am curious|am just curious"
    r"|wonder|wondered|was wondering|want to know|wanted to know|would like to know)\b"
)


# "bipolar here, can I...", "ex alcoholic here:": the visitor introduces themselves.
_SELF_INTRODUCTION = re.compile(r"^[^,.!?;:]{1,60}?\bhere\s*(?:[,.!;:-]|$)")


def _has_personal_reference(text: str) -> bool:
    """`text` as given; the self-introduction check needs its punctuation."""
    if _SELF_INTRODUCTION.search(_head(text).strip().lower()):
        return True
    return bool(_PERSONAL.search(_HEARSAY.sub(" ", normalise(text))))


# --------------------------------------------------------------------------------- terms
def _alternatives(text: str) -> str:
    """One regex group from alternatives separated by " | " (a bar with blanks or a line end on
    both sides). Each alternative sits on one line; bars inside it touch their neighbours."""
    parts = re.split(r"\s+\|(?=\s)", text.strip())
    return "(?:" + "|".join(part.strip() for part in parts) + ")"


_MEDICATION_NAMES = _alternatives(
    r"""
    sertraline | zoloft | fluoxetine | prozac | escitalopram | lexapro | citalopram | celexa |
    paroxetine | paxil | fluvoxamine | luvox | venlafaxine | effexor | desvenlafaxine | pristiq |
    duloxetine | cymbalta | bupropion | wellbutrin | mirtazapine | remeron | trazodone |
    vortioxetine | trintellix | amitriptyline | nortriptyline | clomipramine | imipramine |
    st johns wort |
    maois? | mao inhibitors? | phenelzine | nardil | tranylcypromine | parnate | selegiline |
    emsam | isocarboxazid | marplan | moclobemide |
    lithium | lamotrigine | lamictal | valproate | depakote | divalproex | carbamazepine |
    tegretol | quetiapine | seroquel | aripiprazole | abilify | olanzapine | zyprexa |
    risperidone | risperdal | clozapine | clozaril | haloperidol | lurasidone | latuda |
    antipsychotics? | anti psychotics? | mood stabili[sz]ers? |
    benzodiazepines? | benzos? | xanax | alprazolam | klonopin | clonazepam | ativan | lorazepam |
    valium | diazepam | temazepam | librium | ambien | zolpidem |
    adderall | ritalin | vyvanse | concerta | methylphenidate | dexedrine | dextroamphetamine |
    amphetamines? | lisdexamfetamine | modafinil | stimulants? |
    adhd (?:meds|medications?|medicines?|pills|tablets) |
    methadone | suboxone | subutex | sublocade | brixadi | zubsolv | buprenorphine |
    naltrexone | vivitrol | opioids? |
    gabapentin | neurontin | pregabalin | lyrica | topiramate | topamax | vilazodone | viibryd |
    zopiclone | eszopiclone | lunesta | hydroxyzine | buspirone | buspar | clonidine | prazosin |
    levothyroxine | synthroid | thyroid (?:meds|medications?|medicines?|pills|tablets) |
    prednisone | steroids | birth control | contraceptive pills? |
    hormone replacement | testosterone | insulin | metformin | ozempic | semaglutide |
    opiates? | oxycodone | oxycontin | tramadol |
    blood thinners? | warfarin | coumadin | eliquis | xarelto | beta ?blockers? | propranolol |
    metoprolol | atenolol | lisinopril | amlodipine | losartan |
    (?:blood pressure|bp|heart) (?:meds|medications?|medicines?|pills|tablets)
    """
)
# Classes and generic words that visitors also use in ordinary FAQ questions ("my SSRI took six
# weeks to work"): they count only with current use or a suitability cue.
_GENERIC_MEDICATION = _alternatives(
    r"""
    antidepressants? | anti depressants? | ssris? | snris? | tricyclics? | meds | medications? |
    sleeping (?:pills|tablets) | sleep meds
    """
)
_SUBSTANCE = r"(?:substance|drug|alcohol|opioid|heroin|cocaine|crack|meth|pill|painkiller)s?"
# "if i use weed", "if you drink alcohol regularly": a habit of whoever is asking. ("if i drink
# alcohol after the session" asks about the day, not about a habit.)
_SOMEONE_USES = (
    r"(?:(?:use|uses|smoke|smokes|take|takes|do|does)"
    r" (?:weed|pot|cannabis|marijuana|drugs|cocaine|heroin|opioids|mdma|psychedelics)"
    r"|(?:drink|drinks) (?:alcohol|beer|wine|spirits)? ?(?:regularly|every \w+|daily|a lot|heavily"
    r"|often|most days))"
)
_CONDITIONS = _alternatives(
    rf"""
    bi ?polar\w* | manic depression | manic depressive |
    schizo\w* | skitzo\w* | schitzo\w* | scitzo\w* |
    glaucoma | epilepsy | epileptic | dementia | alzheimer\w* | stents? |
    hypertension | hypertensive | high (?:blood pressure|bp) |
    (?:blood pressure|bp) (?:is|runs|has been|was|gets|goes) (?:\w+ ){{0,2}}(?:high|elevated) |
    heart (?:disease|condition|failure|murmur|defect|surgery|valve|arrhythmia) |
    (?:bad|weak|dodgy) heart | cardiac (?:condition|disease|history|problems?|issues?) |
    arrhythmia | afib | a fib | atrial fibrillation | pacemaker | angina | cardiomyopathy |
    tachycardia | aneurysm | sleep apnea | sleep apnoea | hyperthyroid\w* | overactive thyroid |
    (?:brain|head) injury | intracranial pressure | copd |
    coronary (?:artery )?disease | irregular heart ?beat |
    liver (?:disease|failure|damage|cirrhosis) | cirrhosis |
    alcoholic | alcoholism | alcohol (?:problems?|issues?|abuse|addiction|dependence) |
    drinking (?:problem|habit|issue)s? | heavy drinker |
    {_SUBSTANCE} (?:use|abuse|misuse|addiction|dependence|dependency|habit|problem|history) |
    history of (?:drug|substance|alcohol|addiction|drinking|abuse) |
    (?:recovering|former|ex|past) (?:addict|alcoholic|user|drug user|drinker) |
    in recovery | rehab | sober | sobriety | (?:clean|sober) (?:from|for|since) |
    (?:am|was|were|been|is|got) addicted | (?:was|been|got) hooked on |
    used to (?:use|do|take|be hooked|be addicted|drink) |
    (?<!never )(?<!not )(?:did|done|used) drugs |
    (?:struggled?|struggles|struggling|problems?|issues?) with (?:alcohol|drink\w*|drugs) |
    (?:struggled?|struggles|struggling|problems?|issues?) with (?:addiction|substances) |
    drink (?:quite |really |way )?(?:heavily|a lot|too much|daily|every (?:day|night)) |
    drink (?:quite |really |way )?most (?:days|nights) |
    (?:smoke|smokes|smoking|use|uses|using) (?:weed|pot|cannabis|marijuana) (?:every|daily) |
    (?:smoke|smokes|smoking|use|uses|using) (?:weed|pot|cannabis|marijuana) (?:a lot|most) |
    (?:smoke|smokes|smoking|use|uses|using) (?:weed|pot|cannabis|marijuana) (?:regularly) |
    (?:weed|pot|cannabis|marijuana) (?:daily|every day|user|smoker|habit|addiction) |
    (?:aa|na) meetings | in (?:aa|na) | alcoholics anonymous | narcotics anonymous |
    (?:heart|cardiac|kidney|liver) patients? |
    if (?:i|he|she|you|they|someone|we) (?:still |also |regularly |sometimes )?{_SOMEONE_USES}
    """
)
# Conditions that count only when someone has (had) them: "will I get psychosis from it?" asks
# about a risk of the treatment.
_CONDITIONS_WHEN_HAD = _alternatives(
    r"""
    psychosis | psychotic | hallucinations | hearing voices | hears? voices | delusions |
    mania | hypomani\w* | manic (?:episodes?|phases?|spells?|periods?|highs?) |
    heart (?:problems?|issues?|trouble) | liver (?:problems?|issues?) |
    kidney (?:disease|problems?|issues?|failure|stones?) | adhd | add |
    bladder (?:problems?|issues?|conditions?|disease|infections?|pain|damage) |
    interstitial cystitis | cystitis | utis? | urinary (?:problems?|issues?|tract infections?) |
    incontinence | overactive bladder |
    (?:health|medical) (?:issues|problems|conditions?|history)
    """
)
_HAD = _alternatives(
    r"""
    have | has | had | having | got | with | history | diagnosed | suffer\w* | living | lives |
    was | were | been | go through | goes through | went through | going through |
    struggle\w* | treated | hospitali[sz]ed | experienced? | my | his | her | our |
    exacerbat\w* | worsen\w* | aggravat\w*
    """
)
_CAUSED = _alternatives(
    r"""
    get | gets | getting | develop\w* | cause\w* | trigger\w* | give\w* | lead\w* to |
    bring\w* on | induc\w* | risk of | chance of | end up with
    """
)
_PREGNANCY = _alternatives(
    r"""
    pregnan\w* | preggers | \d+ (?:weeks|months) along |
    (?:am|is|are|were|currently) expecting\b(?! (?:to|that|it|the|a lot|a call|an answer)) |
    trying (?:to conceive|to get pregnant|to have a baby) |
    trying for (?:a baby|a child|kids) | ttc | ivf | fertility treatment |
    breast ?feed\w* | breast ?fed | lactating | postpartum | post partum |
    (?:am|is|still|currently) nursing | nursing (?:my|a|the|our|her) \w+ |
    nursing (?:mom|mum|mother)s? | breast ?milk | pump and dump | unborn | fertility |
    just had a baby | new mom | newborn
    """
)
_AGE = _alternatives(
    r"""
    \d{1,2} | thirteen | fourteen | fifteen | sixteen | seventeen | eighteen | nineteen |
    (?:sixty|seventy|eighty|ninety)(?: (?:one|two|three|four|five|six|seven|eight|nine))?
    """
)
# What follows a number that is not an age: "i'm 30 minutes away", "i am 3 years sober".
_NOT_AN_AGE = _alternatives(
    r"""
    weeks? | months? | days? | hours? | hrs? | minutes? | mins? | mg | milligrams? | mcg | ml |
    kgs? | lbs? | pounds | stone | percent | % | sessions? | times | am\b(?! i\b) | pm | oclock |
    cm | ft | foot | feet | inch\w* | dollars | bucks | euros | quid | k\b |
    years? (?!old|of age)
    """
)
_AGE_SUBJECT = _alternatives(
    r"""
    i am | i turn | i will be | i turned | he is | she is | hes | shes |
    (?:my|our) \w+(?: \w+)? is | turning | turned | aged?
    """
)
_AGE_STATEMENTS = _alternatives(
    # "i am 17", "my dad is 80", "she is only 16", "turning 18"; not "explain it like i'm 5"
    rf"""
    (?<!like ){_AGE_SUBJECT} (?:only |just |almost |nearly |about |over |under )?{_AGE}\b(?! ?{_NOT_AN_AGE}) |
    {_AGE} ?years? ?old |
    at {_AGE}(?: years old)?\s*$
    """  # noqa: E501 - one alternative per line
)
# Age words that are about eligibility only with a suitability cue: "my teenage son is
# anxious, is anxiety something it treats?" asks about conditions treated.
_AGE_WORDS = _alternatives(
    r"""
    in (?:my|his|her|their|our) (?:early |mid |late )?(?:teens|\d0s) |
    in (?:my|his|her|their|our) (?:early |mid |late )?(?:twenties|thirties|forties|fifties) |
    in (?:my|his|her|their|our) (?:early |mid |late )?(?:sixties|seventies|eighties|nineties) |
    teen\w* | minor | under (?:18|eighteen|age) | over (?:60|65|70|75|80) | elderly | pensioner
    """
)
# "is it safe for me to drive home afterwards?" is about the day, not about who can have KAP.
_NOT_ANOTHER_ACTIVITY = (
    r"(?! to (?!(?:do|have|try|get|start|undergo|receive|take|use|go ahead|begin)\b))"
)
_FOR_SOMEONE = (
    r"for (?:me|him|her|us|my \w+|our \w+|someone like me|people like me|someone with my)"
)
_CANDIDACY = _alternatives(
    rf"""
    candidates? | disqualif\w* | eligib\w* | ineligible |
    qualif\w*(?! for (?:insurance|coverage|medicare|medicaid|financ\w*|a discount)) |
    (?:safe|right|suitable|appropriate|a (?:good|bad) (?:fit|idea|choice)|a fit|a good match) {_FOR_SOMEONE}\b{_NOT_ANOTHER_ACTIVITY} |
    (?:an option|dangerous|risky|too risky) {_FOR_SOMEONE}\b{_NOT_ANOTHER_ACTIVITY} |
    (?:ok|okay|alright|fine|possible) for (?:me|him|her|us)\b(?! to) |
    suited to (?:me|him|her|us) |
    (?:would|will|does|could) (?:kap|ketamine|it|this|that) suit (?:me|him|her) |
    rule[sd]? (?:me|him|her|us) out | rule out (?:me|him|her) |
    exclude[sd]? (?:me|him|her|us)\b |
    too (?:frail|fragile|weak|sick|ill|unwell|old|young)\b | (?:be|being|get|am|is|are) excluded | (?:a bad|a terrible|not a good) idea (?:in|for) (?:my|his|her|our) case |
    (?:turn|turned|be turned) (?:me|him|her) away |
    (?:stop|prevent|exclude|keep|bar)s? (?:me|him|her|us) (?:from )?(?:doing|having|getting|trying) |
    allowed to (?:do|have|try|get|start|take part|be treated) |
    right (?:kind|type|sort) of (?:person|patient) | accept (?:me|him|her)
    """  # noqa: E501 - one alternative per line
)
# A suitability cue turns a generic term ("meds", "in his 70s") into an eligibility question.
_CUE = re.compile(
    r"\b(?:can|could|may|would|should) (?:i|he|she|we|they|(?:my|our) \w+) (?:still |even |also )?"
    r"(?:do|have|try|get|start|go ahead|use|undergo|receive|be treated|be given|take part|join"
    r"|sign up|book|be (?:ok|okay|fine|safe|allowed|eligible|accepted|able to (?:do|have|try|get"
    r")))\b"
    r"|\b(?:is|would|will) (?:it|that|this|kap|ketamine) (?:be )?(?:still )?(?:ok|okay|safe"
    r"|alright|fine|a problem|an issue|a risk|risky|dangerous)\b"
    r"|\b(?:safe|allowed|a problem|an issue|matters?|qualify|eligible|candidate|suitable"
    r"|rule \w+ out|too old|too young|old enough|age limit|minimum age|interact\w*|interfer\w*"
    r"|clash\w*|mix\w*|combin\w*|together with|at the same time|stop taking|wean off|taper\w*"
    r"|quit (?:my|his|her|our|taking)"
    r"|affect whether|while (?:on|taking|doing)|with my|stop (?:my|his|her|our)"
    r"|in (?:my|his|her|our) case|a bad idea"
    r"|(?:come|coming|go|going|get|getting) off)\b"
)
_CURRENT_USE = re.compile(
    r"\b(?:i|he|she|we|they|am|is|are|currently|still|now|also)"
    r" (?:on|taking|take|takes|use|uses|using|prescribed|been prescribed|put on)"
    rf"(?: \w+){{0,3}}? {_GENERIC_MEDICATION}\b"
    rf"|\b(?:my|his|her|our) (?:\w+ )?{_GENERIC_MEDICATION}\b(?= (?:are|is|include|and)\b)"
)
_ALWAYS = re.compile(
    rf"\b(?:{_MEDICATION_NAMES}|{_CONDITIONS}|{_PREGNANCY}|{_AGE_STATEMENTS}|{_CANDIDACY})\b"
)
_CONDITION_WHEN_HAD = re.compile(rf"\b{_CONDITIONS_WHEN_HAD}\b")
_HAD_BEFORE = re.compile(rf"\b{_HAD}(?: \w+){{0,4}} $")
# "could I get psychosis from it?" asks about a risk of the treatment, not about a history.
_CAUSED_BEFORE = re.compile(rf"\b{_CAUSED}(?: \w+){{0,2}} $")
_GENERIC_MED = re.compile(rf"\b{_GENERIC_MEDICATION}\b")
_AGE_WORD = re.compile(rf"\b{_AGE_WORDS}\b")


# --------------------------------------------------------------- asked in general
# Eligibility asked about anyone: "can people with bipolar do KAP?", "is there an age limit?".
_FOR_ANYONE = (
    r"(?:safe|ok|okay|alright|suitable|right|appropriate|dangerous|risky|an option|possible"
    r"|allowed|a good idea|a bad idea) for (?:(?:someone|somebody|anyone|a person|people|patients"
    r"|those|women|men|a man|a woman|mothers|moms)"
    r" (?:who|with|that|on|taking|in|having|suffering|after|while)"
    r"|everyone|everybody|anybody|all patients|all people)"
)
_GENERAL_CANDIDACY = re.compile(
    rf"\b(?:{_FOR_ANYONE}"
    r"|who (?:can|can not|cannot|should|should not|is allowed to|is not allowed to|qualifies"
    r"|is eligible|is suitable|is a good fit) (?:have|do|get|take|try|receive|use|be given"
    r"|undergo|for)\b"
    r"|contraindicat\w*|exclusion criteria|excluded from|(?:not|never) (?:be )?allowed to have"
    r"|(?:drug|medication|medicine|prescription) interactions?"
    r"|(?:what|which|any|other) (?:\w+ )?(?:meds|medications?|medicines?|drugs|prescriptions"
    r"|supplements|pills)(?: \w+){0,3} (?:interact\w*|mix\w*|clash\w*|interfer\w*"
    r"|(?:do not|can not|should not|must not|would not|will not) (?:mix|go|combine))"
    r"|tell (?:my|the|your|our|a) (?:\w+ )?(?:doctor|provider|gp|psychiatrist|prescriber"
    r"|physician|nurse|clinician)s? (?:\w+ )?before"
    r"|(?:skip|pause|hold off|stop|come off) (?:on )?(?:my|his|her|our|your) (?:\w+ )?(?:meds"
    r"|medications?|medicines?|prescriptions?|pills)"
    r"|(?:my|his|her|our) (?:\w+ )?prescriptions? (?:\w+ )?(?:affect|interfere|matter|change)"
    r"|reasons? (?:i|you|someone|people|a person|he|she) (?:should not|shouldnt|should never"
    r"|can not|must not|could not) (?:try|have|do|take|get|use|start)"
    r"|(?:am i|is (?:he|she)|are (?:we|they)) (?:a )?(?:good |right |suitable |bad )?(?:fit|match)"
    r"|should (?:i|he|she|we) (?:switch|change over|swap)"
    r"|who (?:should|must|needs to|ought to) (?:avoid|stay away from|not (?:have|do|get|try))"
    r"|(?:health|medical) (?:problems?|conditions?|issues?) (?:\w+ )?"
    r"(?:would |could |might |will )?(?:stops?|prevents?|rules? out|excludes?|keeps?|disqualif\w*)"
    r")"
)
_GENERAL_AGE = re.compile(
    r"\b(?:age (?:limits?|requirements?|restrictions?|range|cut ?off|criteria)|minimum age"
    r"|maximum age|upper age|how old (?:do|must|should|does|can) (?:you|i|one|people|patients"
    r"|someone|a person)(?: \w+){0,2} be|too (?:old|young)|old enough"
    r"|(?:for|can|could|do|does|are|treat\w*|give|allowed|safe|accept\w*|ok|okay)(?: \w+){0,2}"
    r" (?:teenagers|teens|adolescents|children|kids|minors)|under ?(?:18|eighteen|age)"
    r"|over (?:60|65|70|75|80)|seniors|the elderly|elderly (?:people|patients)"
    r"|older (?:adults|people|patients)|\d{1,2} year olds?)\b"
)
_TREATMENT = re.compile(
    r"\b(?:ketamine|kap|esketamine|spravato|ket|it|this|that|treatment|therapy|sessions?"
    r"|lozenges?|troches?|infusions?|dose|doses)\b"
)
# "do SSRIs take longer than ketamine?" compares treatments; it does not ask who can have one.
_COMPARISON = re.compile(
    r"\b(?:than|versus|vs|compared?|comparison|instead of|replace|alternative|differen\w*"
    r"|quicker|faster|slower|sooner|took ages|takes ages|swap\w*|switch\w*)\b"
    r"|\blike (?:regular|normal|other|traditional|standard|typical|most)\b"
    r"|\b(?:is|are) (?:ketamine|kap|it|esketamine) (?:a|an|like)\b"
)
# Medication classes, not "meds" or "medication": "what medication is used in KAP?" is not
# about anyone's own.
_MEDICATION_CLASSES = _alternatives(
    r"""
    antidepressants? | anti depressants? | ssris? | snris? | tricyclics? |
    sleeping (?:pills|tablets) | sleep meds |
    (?:psychiatric|psych|mental health) (?:meds|medications?) |
    (?:other|current|regular|daily|existing) (?:meds|medications?|medicines?|drugs) |
    other prescriptions
    """
)
_ANY_MEDICATION = rf"(?:{_MEDICATION_NAMES}|{_MEDICATION_CLASSES})"
# Taken together with ketamine: "ketamine on SSRIs", "lithium interact with", "stop my lamictal
# before"; not "depression that hasn't responded to antidepressants".
_MEDICATION_WITH_KETAMINE = re.compile(
    r"\b(?:on|with|taking|take|takes|while|plus|alongside|and|mix\w*|combin\w*|interact\w*"
    r"|interfer\w*|clash\w*|stop\w*|stay on|keep taking|continue|come off|coming off|wean\w* off"
    rf"|tapering off|use|using)(?: (?!like\b|than\b|as\b)\w+){{0,3}} ({_ANY_MEDICATION})\b"
    rf"|\b({_ANY_MEDICATION})(?: \w+){{0,3}} (?:and|with|plus|interact\w*|interfer\w*|clash\w*"
    r"|together|at the same time|before|during|while|mix\w*|combin\w*|reduc\w*|affect\w*"
    r"|block\w*|weaken\w*|blunt\w*|cancel\w* out|dampen\w*|stop\w*)\b"
)
_CONDITION = re.compile(rf"\b{_CONDITIONS}\b")
_PREGNANCY_TERM = re.compile(rf"\b(?:{_PREGNANCY}|{_CANDIDACY})\b")


# "does ketamine help with ADHD?" asks what it treats (conditions_treated), not who can have it.
_TREATED_BEFORE = re.compile(
    r"\b(?:help|helps|helping|treat|treats|treating|work|works|good|used|effective|approved)"
    r" (?:with|for) $|\b(?:treat|treats|cure|cures|relieve|relieves|ease|eases) $"
)


def _not_caused(normal: str, match: re.Match) -> bool:
    before = normal[: match.start()]
    return not _CAUSED_BEFORE.search(before) and not _TREATED_BEFORE.search(before)


def _general_terms(normal: str) -> list[str]:
    """Terms that make a question about eligibility whoever it is about."""
    found = [m.group(0) for m in _PREGNANCY_TERM.finditer(normal)]
    found += [m.group(0) for m in _CONDITION.finditer(normal) if _not_caused(normal, m)]
    cue = bool(_CUE.search(normal))
    for m in _CONDITION_WHEN_HAD.finditer(normal):
        before = normal[: m.start()]
        if _not_caused(normal, m) and (cue or _HAD_BEFORE.search(before)):
            found.append(m.group(0))
    found += [m.group(0) for m in _GENERAL_CANDIDACY.finditer(normal)]
    found += [m.group(0) for m in _GENERAL_AGE.finditer(normal)]
    if _TREATMENT.search(normal) and not _COMPARISON.search(normal):
        found += [m.group(1) or m.group(2) for m in _MEDICATION_WITH_KETAMINE.finditer(normal)]
    return found


def _personal_terms(normal: str) -> list[str]:
    """Terms that make a question about eligibility when it is about the visitor or someone
    they know: medications and age words count here with current use or a suitability cue."""
    found = [m.group(0) for m in _ALWAYS.finditer(normal)]
    found += [m.group(0) for m in _CURRENT_USE.finditer(normal)]
    cue = bool(_CUE.search(normal))
    for m in _CONDITION_WHEN_HAD.finditer(normal):
        before = normal[: m.start()]
        if _not_caused(normal, m) and (cue or _HAD_BEFORE.search(before)):
            found.append(m.group(0))
    if cue:
        for weak in (_GENERIC_MED, _AGE_WORD):
            found += [m.group(0) for m in weak.finditer(normal)]
    return found


def matched_terms(text: str) -> list[str]:
    """The eligibility terms found in `text`, whether or not it has a personal reference."""
    normal = normalise(text)
    return list(dict.fromkeys(_general_terms(normal) + _personal_terms(normal)))


def eligibility_match(text: str) -> str | None:
    """The first eligibility term of `text`, or None: any term asked in general, and the
    personal ones when the message is about the visitor or someone they know."""
    normal = normalise(text)
    terms = _general_terms(normal)
    if not terms and _has_personal_reference(text):
        terms = _personal_terms(normal)
    return terms[0] if terms else None


def looks_like_eligibility(text: str) -> bool:
    """True when `text` asks whether KAP suits someone given their medications, conditions or
    circumstances."""
    return eligibility_match(text) is not None
