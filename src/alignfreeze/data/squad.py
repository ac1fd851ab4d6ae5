"""SQuAD v1.1 JSON (XQuAD, MLQA, TyDiQA-GoldP): contexts, questions and answers.

Every answer's character offset is checked against its context: a misaligned offset
would silently train or score the wrong span.
"""

from __future__ import annotations

import json
from pathlib import Path

from alignfreeze.data.records import QaAnswer, QaExample
from alignfreeze.data.textfile import line_of, read_text
from alignfreeze.errors import DataFormatError


def read_squad(path: str | Path) -> list[QaExample]:
    text = read_text(path)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataFormatError(path, exc.lineno, f"invalid JSON: {exc.msg}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise DataFormatError(path, 1, "not SQuAD v1.1 JSON (no top-level 'data' list)")
    examples: list[QaExample] = []
    for article in doc["data"]:
        title = article.get("title", "")
        for paragraph in article.get("paragraphs", []):
            context = paragraph["context"]
            for qa in paragraph.get("qas", []):
                qid = str(qa.get("id", ""))
                answers = []
                for ans in qa.get("answers", []):
                    start, answer_text = int(ans["answer_start"]), ans["text"]
                    found = context[start : start + len(answer_text)]
                    if found != answer_text:
                        where = line_of(text, json.dumps(qid)) if qid else None
                        raise DataFormatError(
                            path,
                            where,
                            f"question {qid!r}: answer {answer_text!r} does not match the context at offset {start} "
                            f"(context has {found!r})",
                        )
                    answers.append(QaAnswer(answer_text, start))
                examples.append(QaExample(qid, title, context, qa["question"], answers))
    if not examples:
        raise DataFormatError(path, None, "no questions found")
    return examples
