"""ctypes smoke test of the picotag C ABI: python3 smoke.py LIBRARY MODEL"""
import ctypes as C
import json
import sys

lib = C.CDLL(sys.argv[1])


class Slot(C.Structure):
    _fields_ = [("task", C.c_char_p), ("label", C.c_char_p), ("text", C.c_char_p),
                ("start", C.c_size_t), ("end", C.c_size_t),
                ("start_utf16", C.c_size_t), ("end_utf16", C.c_size_t), ("score", C.c_float)]


class Intent(C.Structure):
    _fields_ = [("task", C.c_char_p), ("label", C.c_char_p), ("score", C.c_float)]


class Result(C.Structure):
    _fields_ = [("slots", C.POINTER(Slot)), ("n_slots", C.c_size_t),
                ("intents", C.POINTER(Intent)), ("n_intents", C.c_size_t)]


lib.picotag_last_error.restype = C.c_char_p
lib.picotag_version.restype = C.c_char_p
lib.picotag_string_free.argtypes = [C.c_void_p]
lib.picotag_tag_utterance.argtypes = [C.c_void_p, C.c_char_p, C.c_size_t, C.POINTER(C.POINTER(Result))]
lib.picotag_tag_utterance_json.argtypes = [C.c_void_p, C.c_char_p, C.c_size_t, C.POINTER(C.c_void_p)]
lib.picotag_result_free.argtypes = [C.POINTER(Result)]
lib.picotag_close.argtypes = [C.c_void_p]

tagger = C.c_void_p()
assert lib.picotag_open(sys.argv[2].encode(), C.byref(tagger)) == 0, lib.picotag_last_error()
assert lib.picotag_open(b"/nonexistent.ptag", C.byref(C.c_void_p())) == 3  # IO

text = "café 😀 flights from boston to denver"
data = text.encode()
result = C.POINTER(Result)()
assert lib.picotag_tag_utterance(tagger, data, len(data), C.byref(result)) == 0
r = result.contents
for s in r.slots[:r.n_slots]:
    assert s.text == data[s.start:s.end]
    assert text.encode("utf-16-le")[2 * s.start_utf16:2 * s.end_utf16].decode("utf-16-le") == s.text.decode()
    print(f"slot {s.task.decode()} {s.label.decode()} {s.text.decode()!r} {s.score:.3f}")
for i in r.intents[:r.n_intents]:
    print(f"intent {i.task.decode()} {i.label.decode()} {i.score:.3f}")
lib.picotag_result_free(result)

out = C.c_void_p()
assert lib.picotag_tag_utterance_json(tagger, data, len(data), C.byref(out)) == 0
print(json.loads(C.string_at(out.value).decode()))
lib.picotag_string_free(out)
assert lib.picotag_tag_utterance(tagger, b"\xff", 1, C.byref(result)) == 2  # INVALID_UTF8
assert b"UTF-8" in lib.picotag_last_error()
lib.picotag_close(tagger)
print("python ctypes smoke test passed, picotag", lib.picotag_version().decode())
