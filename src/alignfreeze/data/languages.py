"""Language codes: ISO 639-1 (what alignfreeze uses everywhere) to the names and 639-3
codes that some datasets use in their file or config names."""

from __future__ import annotations

# XTREME's udpos configs are named by English language name ("udpos.English").
LANGUAGE_NAMES = {
    "af": "Afrikaans",
    "ar": "Arabic",
    "bg": "Bulgarian",
    "ca": "Catalan",
    "cs": "Czech",
    "da": "Danish",
    "de": "German",
    "el": "Greek",
    "en": "English",
    "es": "Spanish",
    "et": "Estonian",
    "eu": "Basque",
    "fa": "Persian",
    "fi": "Finnish",
    "fr": "French",
    "he": "Hebrew",
    "hi": "Hindi",
    "hu": "Hungarian",
    "id": "Indonesian",
    "it": "Italian",
    "ja": "Japanese",
    "kk": "Kazakh",
    "ko": "Korean",
    "lt": "Lithuanian",
    "lv": "Latvian",
    "mr": "Marathi",
    "nl": "Dutch",
    "no": "Norwegian",
    "pl": "Polish",
    "pt": "Portuguese",
    "ro": "Romanian",
    "ru": "Russian",
    "sk": "Slovak",
    "sl": "Slovenian",
    "sv": "Swedish",
    "ta": "Tamil",
    "te": "Telugu",
    "th": "Thai",
    "tl": "Tagalog",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "ur": "Urdu",
    "vi": "Vietnamese",
    "wo": "Wolof",
    "yo": "Yoruba",
    "zh": "Chinese",
}

# Tatoeba (LASER release) file codes.
ISO639_3 = {
    "af": "afr",
    "ar": "ara",
    "bg": "bul",
    "ca": "cat",
    "cs": "ces",
    "da": "dan",
    "de": "deu",
    "el": "ell",
    "en": "eng",
    "es": "spa",
    "et": "est",
    "eu": "eus",
    "fa": "pes",
    "fi": "fin",
    "fr": "fra",
    "he": "heb",
    "hi": "hin",
    "hu": "hun",
    "id": "ind",
    "it": "ita",
    "ja": "jpn",
    "kk": "kaz",
    "ko": "kor",
    "lt": "lit",
    "lv": "lvs",
    "mr": "mar",
    "nl": "nld",
    "no": "nob",
    "pl": "pol",
    "pt": "por",
    "ro": "ron",
    "ru": "rus",
    "sk": "slk",
    "sl": "slv",
    "sv": "swe",
    "ta": "tam",
    "te": "tel",
    "th": "tha",
    "tl": "tgl",
    "tr": "tur",
    "uk": "ukr",
    "ur": "urd",
    "vi": "vie",
    "zh": "cmn",
}
ISO639_1 = {three: two for two, three in ISO639_3.items()} | {"zho": "zh", "arb": "ar", "lav": "lv", "fas": "fa"}


def to_iso639_1(code: str) -> str:
    """A 639-3 code to 639-1 where known; other codes pass through unchanged."""
    return ISO639_1.get(code, code)


# ------------------------------------------------------------------ NLLB codes and scripts
#: NLLB-200's ``xxx_Xxxx`` codes (ISO 639-3 + ISO 15924 script) -> ours: ISO 639-1 where
#: one exists, else the 639-3 code. The ones the emnlp-2026 reference realigns on
#: (``scripts/ours/final_run_script.sh`` lines 23-24). NLLB names individual languages where
#: 639-1 has the macrolanguage: ``gaz`` (West Central Oromo) is ``om`` and ``swh`` (Swahili)
#: is ``sw`` here.
NLLB_CODES = {
    "amh_Ethi": "am",
    "bam_Latn": "bm",
    "ewe_Latn": "ee",
    "fon_Latn": "fon",
    "gaz_Latn": "om",
    "hau_Latn": "ha",
    "ibo_Latn": "ig",
    "jav_Latn": "jv",
    "kaz_Cyrl": "kk",
    "kin_Latn": "rw",
    "lin_Latn": "ln",
    "lug_Latn": "lg",
    "luo_Latn": "luo",
    "mar_Deva": "mr",
    "mos_Latn": "mos",
    "mya_Mymr": "my",
    "nya_Latn": "ny",
    "sna_Latn": "sn",
    "swh_Latn": "sw",
    "tel_Telu": "te",
    "tgl_Latn": "tl",
    "tsn_Latn": "tn",
    "twi_Latn": "tw",
    "wol_Latn": "wo",
    "xho_Latn": "xh",
    "yor_Latn": "yo",
    "zul_Latn": "zu",
}
#: Our code -> its NLLB code.
NLLB_OF = {ours: nllb for nllb, ours in NLLB_CODES.items()}

#: Our code -> the ISO 15924 script its text is usually written in. For the NLLB languages,
#: the script suffix of the NLLB code (:data:`NLLB_CODES`); for the others, a hand-written
#: table (the script of NLLB-200's code for the language where it has one, e.g.
#: ``zho_Hans``, ``kor_Hang``). One script per language: a corpus in another (Serbian in
#: Latin letters) is not told apart.
SCRIPTS = {
    "af": "Latn",
    "ar": "Arab",
    "az": "Latn",
    "bg": "Cyrl",
    "bn": "Beng",
    "ca": "Latn",
    "cs": "Latn",
    "da": "Latn",
    "de": "Latn",
    "el": "Grek",
    "en": "Latn",
    "es": "Latn",
    "et": "Latn",
    "eu": "Latn",
    "fa": "Arab",
    "fi": "Latn",
    "fr": "Latn",
    "gu": "Gujr",
    "he": "Hebr",
    "hi": "Deva",
    "hu": "Latn",
    "id": "Latn",
    "it": "Latn",
    "ja": "Jpan",
    "ka": "Geor",
    "ko": "Hang",
    "lt": "Latn",
    "lv": "Latn",
    "ml": "Mlym",
    "ms": "Latn",
    "nl": "Latn",
    "no": "Latn",
    "pa": "Guru",
    "pl": "Latn",
    "pt": "Latn",
    "ro": "Latn",
    "ru": "Cyrl",
    "sk": "Latn",
    "sl": "Latn",
    "sv": "Latn",
    "ta": "Taml",
    "th": "Thai",
    "tr": "Latn",
    "uk": "Cyrl",
    "ur": "Arab",
    "vi": "Latn",
    "zh": "Hans",
} | {ours: nllb.split("_")[1] for nllb, ours in NLLB_CODES.items()}


def from_nllb(code: str) -> str:
    """An NLLB-200 code (``hau_Latn``) as ours (``ha``); any other code passes through as
    :func:`to_iso639_1` gives it."""
    return NLLB_CODES.get(code, to_iso639_1(code))


def script_of(code: str) -> str | None:
    """The ISO 15924 script of language ``code`` (ours) as :data:`SCRIPTS` gives it, or None."""
    return SCRIPTS.get(code)
