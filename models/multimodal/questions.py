"""Questions about ShapeWorld scenes, made by code and answered from the scene's own labels.

Four kinds, the ones a fusion head must join picture and words to answer:

- ``exist``: "is there a red circle?" -> yes / no (half the "no"s share the colour or the shape
  of an object that is there, so colour and shape must be bound to the same object);
- ``attribute``: "what colour is the star?" / "what shape is the red object?" (asked only when
  the shape, or the colour, is unique in the scene) -> a colour or a shape;
- ``count``: "how many squares are there?" / "how many blue objects are there?" -> 0 … 5;
- ``relation``: "is the red circle left or right of the blue square?" / "is the green star higher
  or lower than the red heart?" (both named by colour and shape, each pair unique in the scene, so
  every relation question has the same shape and its nouns sit at the same positions; centres at
  least ``RELATION_MARGIN`` of the side apart on that axis, so the answer is never a judgement call)
  -> left / right / higher / lower.

Answers come from one closed vocabulary (``ANSWERS``). Training scenes hold only the seen
colour-shape pairs and their questions never name a held-out pair; the held-out split's scenes
hold only held-out pairs (``models.shapeworld``), so a head is measured on combinations it never
read. No torch here: the tab parses with it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from models.shapeworld import COLOUR_NAMES, HELD_OUT_PAIRS, SHAPES, Scene

KINDS: tuple[str, ...] = ("exist", "attribute", "count", "relation")
MAX_COUNT = 5
ANSWERS: tuple[str, ...] = (("no", "yes") + COLOUR_NAMES + SHAPES + tuple(str(n) for n in range(MAX_COUNT + 1))
                            + ("left", "right", "higher", "lower"))
# "is the circle left or right of the square?" -> "left" / "right": the answer is the sign of one
# coordinate difference. (The yes/no form, "is the circle left of the square?", asked with all four
# words, is an XOR of the word and the sign: no single feature correlates with the answer, and in
# the studio's CPU budget no head got off chance on it; this form asks the same thing.)
RELATIONS: dict[str, tuple[int, str, str]] = {   # words -> (axis: 0 = x, 1 = y; answer when A's coordinate is smaller, larger)
    "left or right of": (0, "left", "right"), "higher or lower than": (1, "higher", "lower")}
RELATION_MARGIN = 0.08                     # of the image side between the two centres
COUNT_PRESENT = 0.75                       # share of count questions about a shape or colour in the scene
_PLURALS = {s: s + "s" for s in SHAPES} | {"cross": "crosses"}


@dataclass(frozen=True)
class Question:
    text: str
    kind: str
    answer: str

    @property
    def answer_id(self) -> int:
        return ANSWERS.index(self.answer)


def _objects(scene: Scene) -> list[tuple[str, str, float, float]]:
    """(colour, shape, cx, cy) of each object."""
    return [(s.colour, s.shape, s.cx, s.cy) for s in scene.specs]


def _unique_names(objects) -> list[tuple[int, str]]:
    """(object index, the shortest name that picks it out alone: "star" or "red star")."""
    names = []
    for i, (colour, shape, _, _) in enumerate(objects):
        if sum(o[1] == shape for o in objects) == 1:
            names.append((i, shape))
        elif sum(o[:2] == (colour, shape) for o in objects) == 1:
            names.append((i, f"{colour} {shape}"))
    return names


def exist_question(scene: Scene, rng: np.random.Generator, pairs) -> Question:
    objects = _objects(scene)
    present = {o[:2] for o in objects}
    if rng.random() < 0.5:
        colour, shape = objects[rng.integers(len(objects))][:2]
        return Question(f"is there a {colour} {shape}?", "exist", "yes")
    absent = [p for p in pairs if p not in present]
    near = [p for p in absent if any(p[0] == c or p[1] == s for c, s in present)]
    pool = near if near and rng.random() < 0.5 else absent
    colour, shape = pool[rng.integers(len(pool))]
    return Question(f"is there a {colour} {shape}?", "exist", "no")


def attribute_question(scene: Scene, rng: np.random.Generator, pairs) -> Question | None:
    objects = _objects(scene)
    choices = []
    for colour, shape, _, _ in objects:
        if sum(o[1] == shape for o in objects) == 1:
            choices.append(Question(f"what colour is the {shape}?", "attribute", colour))
        if sum(o[0] == colour for o in objects) == 1:
            choices.append(Question(f"what shape is the {colour} object?", "attribute", shape))
    return choices[rng.integers(len(choices))] if choices else None


def count_question(scene: Scene, rng: np.random.Generator, pairs) -> Question:
    objects = _objects(scene)
    # mostly about something that is there: otherwise "0" would be the answer most of the time
    present = rng.random() < COUNT_PRESENT
    if rng.random() < 0.5:
        shape = (objects[rng.integers(len(objects))][1] if present else SHAPES[rng.integers(len(SHAPES))])
        n = sum(o[1] == shape for o in objects)
        return Question(f"how many {_PLURALS[shape]} are there?", "count", str(min(n, MAX_COUNT)))
    colour = (objects[rng.integers(len(objects))][0] if present else COLOUR_NAMES[rng.integers(len(COLOUR_NAMES))])
    n = sum(o[0] == colour for o in objects)
    return Question(f"how many {colour} objects are there?", "count", str(min(n, MAX_COUNT)))


def _relation(objects, a: int, b: int, words: str, side: int) -> str | None:
    """The answer to "is A <words> B?" (None when the centres are too close on that axis)."""
    axis, smaller, larger = RELATIONS[words]
    delta = objects[a][2 + axis] - objects[b][2 + axis]
    if abs(delta) < RELATION_MARGIN * side:
        return None
    return smaller if delta < 0 else larger


def relation_question(scene: Scene, rng: np.random.Generator, pairs) -> Question | None:
    objects = _objects(scene)
    pairs_here = [o[:2] for o in objects]
    names = [(i, f"{c} {s}") for i, (c, s) in enumerate(pairs_here) if pairs_here.count((c, s)) == 1]
    side = scene.image.shape[0]
    options = []
    for a, name_a in names:
        for b, name_b in names:
            for words in RELATIONS if a != b else ():
                answer = _relation(objects, a, b, words, side)
                if answer is not None:
                    options.append(Question(f"is the {name_a} {words} the {name_b}?", "relation", answer))
    return options[rng.integers(len(options))] if options else None


MAKERS = {"exist": exist_question, "attribute": attribute_question, "count": count_question,
          "relation": relation_question}


def question_pairs(split: str) -> list[tuple[str, str]]:
    """The colour-shape pairs a split's questions may name: training never names a held-out one."""
    every = [(c, s) for c in COLOUR_NAMES for s in SHAPES]
    return [p for p in every if p not in HELD_OUT_PAIRS] if split == "train" else every


def ask(scene: Scene, kind: str, rng: np.random.Generator, split: str = "train") -> Question | None:
    """One question of ``kind`` about ``scene`` (None when the scene cannot pose one: no unique
    object for an attribute, no two objects far enough apart for a relation)."""
    if kind not in MAKERS:
        raise ValueError(f"unknown question kind {kind!r}; one of {', '.join(KINDS)}")
    return MAKERS[kind](scene, rng, question_pairs(split))


# ---------------------------------------------------------------- a learner's own question
_WORD = re.compile(r"[a-z]+|\d+|[?]")


def normalise(text: str) -> str:
    """Lower case, single spaces, one question mark at the end: the form the heads read."""
    words = _WORD.findall((text or "").lower())
    body = " ".join(w for w in words if w != "?")
    return body + "?" if body else ""


def answer(scene: Scene, text: str) -> Question | None:
    """The ground-truth answer to a typed question when it has one of the generator's forms
    (so the tab can mark each head right or wrong); None for any other wording."""
    q = normalise(text)
    objects = _objects(scene)
    shapes = "|".join(SHAPES)
    colours = "|".join(COLOUR_NAMES)
    if m := re.fullmatch(rf"is there an? ({colours}) ({shapes})\?", q):
        return Question(q, "exist", "yes" if tuple(m.groups()) in {o[:2] for o in objects} else "no")
    if m := re.fullmatch(rf"what colour is the ({shapes})\?", q):
        hits = [o for o in objects if o[1] == m[1]]
        return Question(q, "attribute", hits[0][0]) if len(hits) == 1 else None
    if m := re.fullmatch(rf"what shape is the ({colours}) object\?", q):
        hits = [o for o in objects if o[0] == m[1]]
        return Question(q, "attribute", hits[0][1]) if len(hits) == 1 else None
    plurals = "|".join(_PLURALS.values())
    if m := re.fullmatch(rf"how many ({plurals}) are there\?", q):
        shape = next(s for s, p in _PLURALS.items() if p == m[1])
        return Question(q, "count", str(min(sum(o[1] == shape for o in objects), MAX_COUNT)))
    if m := re.fullmatch(rf"how many ({colours}) objects are there\?", q):
        return Question(q, "count", str(min(sum(o[0] == m[1] for o in objects), MAX_COUNT)))
    words = "|".join(RELATIONS)
    if m := re.fullmatch(rf"is the (.+) ({words}) the (.+)\?", q):
        names = {name: i for i, name in _unique_names(objects)}
        names |= {f"{objects[i][0]} {objects[i][1]}": i for i in names.values()}
        if m[1] in names and m[3] in names and names[m[1]] != names[m[3]]:
            answer = _relation(objects, names[m[1]], names[m[3]], m[2], scene.image.shape[0])
            if answer is not None:
                return Question(q, "relation", answer)
    return None
