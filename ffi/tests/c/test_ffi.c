/*
 * C tests of the picotag ABI: every error path, ownership, entity sets, and
 * one tagger shared by 4 threads. Run by tests/c_abi.rs (also under valgrind):
 *
 *   test_ffi MODEL.ptag TRUNCATED.ptag
 *
 * Exits 0 when every check passed.
 */
#include "picotag.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int checks = 0;
static int failures = 0;

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        checks++;                                                                          \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: CHECK failed: %s (last error: \"%s\")\n", __FILE__,    \
                    __LINE__, #cond, picotag_last_error());                                \
            failures++;                                                                    \
        }                                                                                  \
    } while (0)

#define CHECK_STATUS(call, want)                                                           \
    do {                                                                                   \
        picotag_status st_ = (call);                                                       \
        checks++;                                                                          \
        if (st_ != (want)) {                                                               \
            fprintf(stderr, "%s:%d: %s returned %s, want %s (last error: \"%s\")\n",       \
                    __FILE__, __LINE__, #call, picotag_status_name(st_),                   \
                    picotag_status_name(want), picotag_last_error());                      \
            failures++;                                                                    \
        }                                                                                  \
    } while (0)

/* A failure leaves a message; a success clears it. */
#define HAS_ERROR() (picotag_last_error()[0] != '\0')

static const char *const UTTERANCES[] = {
    "book a flight from boston to denver tomorrow morning",
    "i take 200 mg of ibuprofen for my migraine",
    "play music",
    "what is the weather in new york at 8 pm",
    /* "café in zürich 😀 flights to boston, then 𝄞 denver" */
    "caf\xc3\xa9 in z\xc3\xbcrich \xf0\x9f\x98\x80 flights to boston, then \xf0\x9d\x84\x9e denver",
    "",
    "   ",
};
#define N_UTTERANCES (sizeof UTTERANCES / sizeof UTTERANCES[0])

/* UTF-16 code units of n bytes of valid UTF-8. */
static size_t utf16_units(const char *s, size_t n) {
    size_t units = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c & 0xC0) != 0x80) units += c >= 0xF0 ? 2 : 1;
    }
    return units;
}

/* The invariants of a result for the input text[0..len]. */
static void check_result(const char *text, size_t len, const picotag_result *r) {
    CHECK(r != NULL);
    if (r == NULL) return;
    CHECK((r->slots == NULL) == (r->n_slots == 0));
    CHECK((r->intents == NULL) == (r->n_intents == 0));
    for (size_t i = 0; i < r->n_slots; i++) {
        const picotag_slot *s = &r->slots[i];
        CHECK(s->task != NULL && s->task[0] != '\0');
        CHECK(s->label != NULL && s->label[0] != '\0');
        CHECK(s->start < s->end && s->end <= len);
        if (!(s->start < s->end && s->end <= len)) continue;
        CHECK(memcmp(s->text, text + s->start, s->end - s->start) == 0);
        CHECK(s->text[s->end - s->start] == '\0');
        CHECK(s->start_utf16 == utf16_units(text, s->start));
        CHECK(s->end_utf16 == utf16_units(text, s->end));
        CHECK(s->score >= 0.0f && s->score <= 1.0f);
        if (i > 0) CHECK(r->slots[i - 1].start <= s->start);
    }
    for (size_t i = 0; i < r->n_intents; i++) {
        const picotag_intent *it = &r->intents[i];
        CHECK(it->task != NULL && it->task[0] != '\0');
        CHECK(it->label != NULL && it->label[0] != '\0');
        CHECK(it->score >= 0.0f && it->score <= 1.0f);
    }
}

/* Whether two results say exactly the same. */
static int same_result(const picotag_result *a, const picotag_result *b) {
    if (a->n_slots != b->n_slots || a->n_intents != b->n_intents) return 0;
    for (size_t i = 0; i < a->n_slots; i++) {
        const picotag_slot *x = &a->slots[i], *y = &b->slots[i];
        if (strcmp(x->task, y->task) || strcmp(x->label, y->label) || strcmp(x->text, y->text) ||
            x->start != y->start || x->end != y->end || x->start_utf16 != y->start_utf16 ||
            x->end_utf16 != y->end_utf16 || x->score != y->score)
            return 0;
    }
    for (size_t i = 0; i < a->n_intents; i++) {
        const picotag_intent *x = &a->intents[i], *y = &b->intents[i];
        if (strcmp(x->task, y->task) || strcmp(x->label, y->label) || x->score != y->score)
            return 0;
    }
    return 1;
}

static picotag_options all_slots(void) {
    picotag_options o;
    picotag_options_init(&o);
    o.has_slot_threshold = -1.0f; /* never silence a task */
    return o;
}

static void test_version(void) {
    CHECK(picotag_abi_version() == PICOTAG_ABI_VERSION);
    CHECK(picotag_version() != NULL && picotag_version()[0] != '\0');
    CHECK(strcmp(picotag_status_name(PICOTAG_STATUS_OK), "PICOTAG_STATUS_OK") == 0);
    CHECK(strcmp(picotag_status_name(PICOTAG_STATUS_IO), "PICOTAG_STATUS_IO") == 0);
    CHECK(strcmp(picotag_status_name(99), "PICOTAG_STATUS_UNKNOWN") == 0);
    CHECK(PICOTAG_STATUS_OK == 0);
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc(n > 0 ? (size_t)n : 1);
    *len = fread(buf, 1, (size_t)n, f);
    fclose(f);
    return buf;
}

static void test_open_errors(const char *model, const char *truncated) {
    picotag_tagger *t = (picotag_tagger *)&t; /* not NULL: must be reset */
    CHECK_STATUS(picotag_open(NULL, &t), PICOTAG_STATUS_NULL_ARGUMENT);
    CHECK(t == NULL);
    CHECK(HAS_ERROR());
    CHECK_STATUS(picotag_open(model, NULL), PICOTAG_STATUS_NULL_ARGUMENT);

    t = (picotag_tagger *)&t;
    CHECK_STATUS(picotag_open("/nonexistent/dir/model.ptag", &t), PICOTAG_STATUS_IO);
    CHECK(t == NULL);
    CHECK(strstr(picotag_last_error(), "/nonexistent/dir/model.ptag") != NULL);

    CHECK_STATUS(picotag_open(truncated, &t), PICOTAG_STATUS_FORMAT);
    CHECK(t == NULL);
    CHECK(HAS_ERROR());

    size_t len = 0;
    char *bytes = read_file(model, &len);
    CHECK(bytes != NULL && len > 64);
    if (!bytes) return;
    CHECK_STATUS(picotag_open_from_memory(NULL, len, &t), PICOTAG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(picotag_open_from_memory((const uint8_t *)bytes, len, NULL),
                 PICOTAG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(picotag_open_from_memory((const uint8_t *)bytes, 0, &t), PICOTAG_STATUS_FORMAT);
    CHECK_STATUS(picotag_open_from_memory((const uint8_t *)bytes, len / 2, &t),
                 PICOTAG_STATUS_FORMAT);
    CHECK(t == NULL);
    bytes[len / 2] ^= 0x55; /* corrupt: the checksum catches it */
    CHECK_STATUS(picotag_open_from_memory((const uint8_t *)bytes, len, &t), PICOTAG_STATUS_FORMAT);
    CHECK(t == NULL);
    free(bytes);

    picotag_close(NULL); /* no-op */
    picotag_result_free(NULL);
    picotag_string_free(NULL);
}

static void test_tag_errors(const picotag_tagger *t) {
    const char *text = "book a flight";
    picotag_result *r = (picotag_result *)&r;
    char *json = (char *)&json;

    CHECK_STATUS(picotag_tag_utterance(NULL, text, 4, &r), PICOTAG_STATUS_NULL_ARGUMENT);
    CHECK(r == NULL);
    CHECK(strstr(picotag_last_error(), "tagger") != NULL);
    CHECK_STATUS(picotag_tag_utterance(t, NULL, 4, &r), PICOTAG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(picotag_tag_utterance(t, text, 4, NULL), PICOTAG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(picotag_tag_utterance_json(t, text, 4, NULL), PICOTAG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(picotag_tag_utterance_json(NULL, text, 4, &json), PICOTAG_STATUS_NULL_ARGUMENT);
    CHECK(json == NULL);

    /* NULL with length 0 is the empty text. */
    CHECK_STATUS(picotag_tag_utterance(t, NULL, 0, &r), PICOTAG_STATUS_OK);
    CHECK(!HAS_ERROR());
    CHECK(r != NULL && r->n_slots == 0 && r->n_intents == 0);
    picotag_result_free(r);

    /* Invalid UTF-8: truncated sequence, stray bytes, surrogate, overlong. */
    static const char *const bad[] = {"caf\xc3", "\xff\xfe", "ok \xed\xa0\x80", "\xc0\xaf"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = (picotag_result *)&r;
        CHECK_STATUS(picotag_tag_utterance(t, bad[i], strlen(bad[i]), &r),
                     PICOTAG_STATUS_INVALID_UTF8);
        CHECK(r == NULL);
        CHECK(strstr(picotag_last_error(), "UTF-8") != NULL);
        json = (char *)&json;
        CHECK_STATUS(picotag_tag_utterance_json(t, bad[i], strlen(bad[i]), &json),
                     PICOTAG_STATUS_INVALID_UTF8);
        CHECK(json == NULL);
    }
    /* The length counts, not a NUL: a valid prefix of a bad buffer is fine. */
    CHECK_STATUS(picotag_tag_utterance(t, "play music\xff", 10, &r), PICOTAG_STATUS_OK);
    picotag_result_free(r);

    CHECK_STATUS(picotag_options_init(NULL), PICOTAG_STATUS_NULL_ARGUMENT);
}

static void test_tasks(const picotag_tagger *t) {
    const picotag_task *tasks = NULL;
    size_t n = 0;
    CHECK_STATUS(picotag_tasks(NULL, &tasks, &n), PICOTAG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(picotag_tasks(t, NULL, &n), PICOTAG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(picotag_tasks(t, &tasks, NULL), PICOTAG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(picotag_tasks(t, &tasks, &n), PICOTAG_STATUS_OK);
    CHECK(n >= 2 && tasks != NULL);
    if (n < 2 || tasks == NULL) return;
    for (size_t i = 0; i < n; i++) {
        CHECK(tasks[i].name != NULL && tasks[i].name[0] != '\0');
        CHECK((tasks[i].slot_types == NULL) == (tasks[i].n_slot_types == 0));
        CHECK((tasks[i].intent_labels == NULL) == (tasks[i].n_intent_labels == 0));
        for (size_t k = 0; k < tasks[i].n_slot_types; k++)
            CHECK(tasks[i].slot_types[k] != NULL && tasks[i].slot_types[k][0] != '\0');
    }

    /* Restricting to one task: only its slots and intents. */
    const char *only = tasks[n - 1].name;
    picotag_options o = all_slots();
    o.tasks = &only;
    o.n_tasks = 1;
    size_t n_slots = 0;
    for (size_t u = 0; u < N_UTTERANCES; u++) {
        picotag_result *r = NULL;
        CHECK_STATUS(picotag_tag_utterance_with(t, UTTERANCES[u], strlen(UTTERANCES[u]), &o, &r),
                     PICOTAG_STATUS_OK);
        if (!r) continue;
        check_result(UTTERANCES[u], strlen(UTTERANCES[u]), r);
        for (size_t i = 0; i < r->n_slots; i++) CHECK(strcmp(r->slots[i].task, only) == 0);
        for (size_t i = 0; i < r->n_intents; i++) CHECK(strcmp(r->intents[i].task, only) == 0);
        CHECK(r->n_intents == (tasks[n - 1].n_intent_labels > 0 ? 1u : 0u));
        n_slots += r->n_slots;
        picotag_result_free(r);
    }
    CHECK(n_slots > 0);

    /* Unknown task, NULL entry, NULL list, invalid UTF-8, NaN. */
    const char *unknown[] = {"voice", "no-such-task"};
    picotag_result *r = (picotag_result *)&r;
    o.tasks = unknown;
    o.n_tasks = 2;
    CHECK_STATUS(picotag_tag_utterance_with(t, "play", 4, &o, &r), PICOTAG_STATUS_INVALID_ARGUMENT);
    CHECK(r == NULL);
    CHECK(strstr(picotag_last_error(), "no-such-task") != NULL);
    char *json = (char *)&json;
    CHECK_STATUS(picotag_tag_utterance_json_with(t, "play", 4, &o, &json),
                 PICOTAG_STATUS_INVALID_ARGUMENT);
    CHECK(json == NULL);
    const char *null_entry[] = {NULL};
    o.tasks = null_entry;
    o.n_tasks = 1;
    CHECK_STATUS(picotag_tag_utterance_with(t, "play", 4, &o, &r), PICOTAG_STATUS_NULL_ARGUMENT);
    o.tasks = NULL;
    o.n_tasks = 3;
    CHECK_STATUS(picotag_tag_utterance_with(t, "play", 4, &o, &r), PICOTAG_STATUS_NULL_ARGUMENT);
    const char *bad_utf8[] = {"voi\xff"};
    o.tasks = bad_utf8;
    o.n_tasks = 1;
    CHECK_STATUS(picotag_tag_utterance_with(t, "play", 4, &o, &r), PICOTAG_STATUS_INVALID_UTF8);
    o = all_slots();
    o.min_slot_score = NAN;
    CHECK_STATUS(picotag_tag_utterance_with(t, "play", 4, &o, &r), PICOTAG_STATUS_INVALID_ARGUMENT);
    CHECK(r == NULL);
    o = all_slots();
    CHECK(o.punctuation_words == PICOTAG_PUNCTUATION_BY_TASK);
    o.punctuation_words = 7;
    CHECK_STATUS(picotag_tag_utterance_with(t, "play !", 6, &o, &r), PICOTAG_STATUS_INVALID_ARGUMENT);
    CHECK(r == NULL);
    o.punctuation_words = PICOTAG_PUNCTUATION_SKIP;
    CHECK_STATUS(picotag_tag_utterance_with(t, "play !", 6, &o, &r), PICOTAG_STATUS_OK);
    picotag_result_free(r);
}

static void *read_last_error(void *arg) {
    *(int *)arg = HAS_ERROR();
    return NULL;
}

static void test_last_error(const picotag_tagger *t) {
    picotag_result *r = NULL;
    CHECK_STATUS(picotag_tag_utterance(t, "\xff", 1, &r), PICOTAG_STATUS_INVALID_UTF8);
    CHECK(HAS_ERROR());
    int other = -1;
    pthread_t th;
    CHECK(pthread_create(&th, NULL, read_last_error, &other) == 0);
    pthread_join(th, NULL);
    CHECK(other == 0); /* thread-local */
    CHECK(HAS_ERROR()); /* reading it does not clear it */
    CHECK_STATUS(picotag_tag_utterance(t, "play", 4, &r), PICOTAG_STATUS_OK);
    CHECK(!HAS_ERROR());
    picotag_result_free(r);
}

/* Single-thread reference results. */
static picotag_result *want[N_UTTERANCES];
static char *want_json[N_UTTERANCES];

struct worker {
    const picotag_tagger *tagger;
    int id;
    int mismatches;
};

static void *work(void *arg) {
    struct worker *w = arg;
    picotag_options o = all_slots();
    for (size_t i = 0; i < 3 * N_UTTERANCES; i++) {
        size_t u = (i + (size_t)w->id) % N_UTTERANCES;
        const char *text = UTTERANCES[u];
        picotag_result *r = NULL;
        char *json = NULL;
        if (picotag_tag_utterance_with(w->tagger, text, strlen(text), &o, &r) != PICOTAG_STATUS_OK ||
            picotag_tag_utterance_json_with(w->tagger, text, strlen(text), &o, &json) !=
                PICOTAG_STATUS_OK ||
            !same_result(r, want[u]) || strcmp(json, want_json[u]) != 0) {
            fprintf(stderr, "thread %d: utterance %zu differs (%s)\n", w->id, u,
                    picotag_last_error());
            w->mismatches++;
        }
        picotag_result_free(r);
        picotag_string_free(json);
    }
    return NULL;
}

static void test_threads(const picotag_tagger *t) {
    picotag_options o = all_slots();
    size_t n_slots = 0;
    for (size_t u = 0; u < N_UTTERANCES; u++) {
        const char *text = UTTERANCES[u];
        CHECK_STATUS(picotag_tag_utterance_with(t, text, strlen(text), &o, &want[u]),
                     PICOTAG_STATUS_OK);
        CHECK_STATUS(picotag_tag_utterance_json_with(t, text, strlen(text), &o, &want_json[u]),
                     PICOTAG_STATUS_OK);
        if (!want[u] || !want_json[u]) return;
        check_result(text, strlen(text), want[u]);
        CHECK(want_json[u][0] == '{');
        n_slots += want[u]->n_slots;
    }
    CHECK(n_slots > 0); /* or the comparison below checks little */
    struct worker workers[4];
    pthread_t threads[4];
    for (int i = 0; i < 4; i++) {
        workers[i] = (struct worker){t, i, 0};
        CHECK(pthread_create(&threads[i], NULL, work, &workers[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        CHECK(workers[i].mismatches == 0);
    }
    for (size_t u = 0; u < N_UTTERANCES; u++) {
        picotag_result_free(want[u]);
        picotag_string_free(want_json[u]);
    }
}

/* Entity sets: creation, every error of add, tagging with a set, free. */
static void test_entities(const picotag_tagger *t) {
    picotag_entities *e = NULL;
    CHECK_STATUS(picotag_entities_new(NULL, &e), PICOTAG_STATUS_NULL_ARGUMENT);
    CHECK(e == NULL);
    CHECK_STATUS(picotag_entities_new(t, NULL), PICOTAG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(picotag_entities_new(t, &e), PICOTAG_STATUS_OK);
    if (!e) return;
    CHECK(picotag_entities_len(e) == 0);
    CHECK(picotag_entities_len(NULL) == 0);

    /* A type of the model: "task/type" from picotag_tasks. */
    const picotag_task *tasks = NULL;
    size_t n = 0;
    CHECK_STATUS(picotag_tasks(t, &tasks, &n), PICOTAG_STATUS_OK);
    char type[256] = "";
    for (size_t i = 0; i < n && !type[0]; i++)
        if (tasks[i].n_slot_types > 0)
            snprintf(type, sizeof type, "%s/%s", tasks[i].name, tasks[i].slot_types[0]);
    CHECK(type[0] != '\0');
    size_t tl = strlen(type);

    const char *v = "Boston";
    CHECK_STATUS(picotag_entities_add(NULL, type, tl, v, strlen(v)), PICOTAG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(picotag_entities_add(e, NULL, 3, v, strlen(v)), PICOTAG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(picotag_entities_add(e, type, tl, NULL, 4), PICOTAG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(picotag_entities_add(e, type, tl, "\xff\xfe", 2), PICOTAG_STATUS_INVALID_UTF8);
    CHECK_STATUS(picotag_entities_add(e, "\xc3", 1, v, strlen(v)), PICOTAG_STATUS_INVALID_UTF8);
    CHECK_STATUS(picotag_entities_add(e, "nosuch/type", 11, v, strlen(v)),
                 PICOTAG_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(picotag_last_error(), "nosuch/type") != NULL);
    CHECK_STATUS(picotag_entities_add(e, type, tl, NULL, 0), PICOTAG_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(picotag_entities_add(e, type, tl, "   ", 3), PICOTAG_STATUS_INVALID_ARGUMENT);
    char *huge = malloc(100000);
    CHECK(huge != NULL);
    if (huge) {
        memset(huge, 'a', 100000);
        CHECK_STATUS(picotag_entities_add(e, type, tl, huge, 100000),
                     PICOTAG_STATUS_INVALID_ARGUMENT);
        free(huge);
    }
    CHECK(picotag_entities_len(e) == 0);
    /* Lengths, not NUL terminators: "new york" of "new yorkXYZ". */
    CHECK_STATUS(picotag_entities_add(e, type, tl, v, strlen(v)), PICOTAG_STATUS_OK);
    CHECK_STATUS(picotag_entities_add(e, type, tl, "new yorkXYZ", 8), PICOTAG_STATUS_OK);
    CHECK_STATUS(picotag_entities_add(e, type, tl, "NEW YORK", 8), PICOTAG_STATUS_OK);
    CHECK(picotag_entities_len(e) == 2);

    picotag_options o = all_slots();
    o.entities = e;
    for (size_t u = 0; u < N_UTTERANCES; u++) {
        picotag_result *r = NULL;
        CHECK_STATUS(picotag_tag_utterance_with(t, UTTERANCES[u], strlen(UTTERANCES[u]), &o, &r),
                     PICOTAG_STATUS_OK);
        if (r) check_result(UTTERANCES[u], strlen(UTTERANCES[u]), r);
        picotag_result_free(r);
    }
    o.entity_bonus = NAN;
    picotag_result *r = NULL;
    CHECK_STATUS(picotag_tag_utterance_with(t, "x", 1, &o, &r), PICOTAG_STATUS_INVALID_ARGUMENT);
    CHECK(r == NULL);
    picotag_entities_free(e);
    picotag_entities_free(NULL);
}

/* A tagger loaded from memory tags like one opened from the file, after the
 * caller's buffer is gone. */
static void test_from_memory(const picotag_tagger *from_file, const char *model) {
    size_t len = 0;
    char *bytes = read_file(model, &len);
    CHECK(bytes != NULL);
    if (!bytes) return;
    picotag_tagger *t = NULL;
    CHECK_STATUS(picotag_open_from_memory((const uint8_t *)bytes, len, &t), PICOTAG_STATUS_OK);
    memset(bytes, 0, len);
    free(bytes); /* copied: the tagger does not need it */
    if (!t) return;
    picotag_options o = all_slots();
    for (size_t u = 0; u < N_UTTERANCES; u++) {
        const char *text = UTTERANCES[u];
        picotag_result *a = NULL, *b = NULL;
        CHECK_STATUS(picotag_tag_utterance_with(t, text, strlen(text), &o, &a), PICOTAG_STATUS_OK);
        CHECK_STATUS(picotag_tag_utterance_with(from_file, text, strlen(text), &o, &b),
                     PICOTAG_STATUS_OK);
        if (a && b) CHECK(same_result(a, b));
        picotag_result_free(a);
        picotag_result_free(b);
    }
    /* Results own their memory: they outlive the tagger. */
    picotag_result *r = NULL;
    CHECK_STATUS(picotag_tag_utterance_with(t, UTTERANCES[0], strlen(UTTERANCES[0]), &o, &r),
                 PICOTAG_STATUS_OK);
    picotag_close(t);
    if (r) check_result(UTTERANCES[0], strlen(UTTERANCES[0]), r);
    picotag_result_free(r);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL.ptag TRUNCATED.ptag\n", argv[0]);
        return 2;
    }
    test_version();
    test_open_errors(argv[1], argv[2]);

    picotag_tagger *t = NULL;
    CHECK_STATUS(picotag_open(argv[1], &t), PICOTAG_STATUS_OK);
    if (!t) {
        fprintf(stderr, "cannot open %s: %s\n", argv[1], picotag_last_error());
        return 1;
    }
    test_tag_errors(t);
    test_tasks(t);
    test_last_error(t);
    test_threads(t);
    test_entities(t);
    test_from_memory(t, argv[1]);
    picotag_close(t);

    if (failures) {
        fprintf(stderr, "%d of %d checks FAILED\n", failures, checks);
        return 1;
    }
    printf("picotag C ABI tests: all %d checks passed (picotag %s, ABI %u)\n", checks,
           picotag_version(), picotag_abi_version());
    return 0;
}
