#!/usr/bin/env python3
"""Writes the tiny synthetic dataset of recipes/tiny.toml (train.jsonl, dev.jsonl):
an assistant with three intents and five slot types, from templates and word
lists, seeded. The sentences are made up here, so they can live in the repository;
they stand for "your own data" in the tutorial of quantize/README.md.

    python3 recipes/tiny/make_data.py      # rewrites recipes/tiny/*.jsonl
"""
import json
import os
import random

CITIES = ["boston", "denver", "paris", "new york", "san francisco", "tokyo", "berlin", "lisbon",
          "chicago", "oslo", "madrid", "seattle", "rome", "dublin", "austin"]
ARTISTS = ["miles davis", "nina simone", "the beatles", "daft punk", "adele", "bach",
           "radiohead", "aretha franklin", "björk", "coldplay"]
GENRES = ["jazz", "blues", "rock", "classical", "techno", "folk", "hip hop", "reggae"]
TIMES = ["tomorrow", "tonight", "at 8 pm", "on monday", "this weekend", "at noon",
         "next friday", "in the morning"]
NUMBERS = ["two", "three", "four", "five", "six", "2", "4", "10"]

TEMPLATES = {
    "GetWeather": [
        "what is the weather in {city} {time}",
        "will it rain in {city} {time}",
        "how cold is it in {city}",
        "weather forecast for {city} {time} please",
        "is it sunny in {city} {time}",
    ],
    "PlayMusic": [
        "play some {genre}",
        "play {artist}",
        "put on {genre} by {artist}",
        "i want to hear {artist} {time}",
        "play {genre} music please",
    ],
    "BookRestaurant": [
        "book a table for {number} in {city} {time}",
        "reserve a restaurant for {number} people {time}",
        "i need a table for {number} {time}",
        "find me a restaurant in {city} for {number}",
        "book dinner for {number} {time} in {city}",
    ],
}
SLOTS = {"city": "city", "artist": "artist", "genre": "genre", "time": "time", "number": "party_size"}
VALUES = {"city": CITIES, "artist": ARTISTS, "genre": GENRES, "time": TIMES, "number": NUMBERS}


def sentence(rng):
    intent = rng.choice(sorted(TEMPLATES))
    template = rng.choice(TEMPLATES[intent])
    text, spans, i = "", [], 0
    while i < len(template):
        j = template.find("{", i)
        if j < 0:
            text += template[i:]
            break
        text += template[i:j]
        k = template.index("}", j)
        name = template[j + 1:k]
        value = rng.choice(VALUES[name])
        start = len(text)
        text += value
        spans.append({"start": start, "end": len(text), "label": SLOTS[name]})
        i = k + 1
    return {"text": text, "spans": spans, "intent": intent}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    rng = random.Random(7)
    for split, n in [("train", 300), ("dev", 60)]:
        with open(os.path.join(here, f"{split}.jsonl"), "w", encoding="utf-8") as f:
            for _ in range(n):
                f.write(json.dumps(sentence(rng), ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
