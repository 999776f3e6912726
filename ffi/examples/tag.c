/*
 * Tags utterances with picotag through its C ABI and prints the slots and
 * intents found, one per line.
 *
 *   cc -I ffi/include ffi/examples/tag.c -L target/release -lpicotag_ffi -o tag
 *   LD_LIBRARY_PATH=target/release ./tag [--model PATH] [--tasks a,b] [--all-slots] UTTERANCE...
 *
 * --model PATH  model file (default models/default.ptag)
 * --tasks a,b   run only these tasks
 * --all-slots   do not silence tasks whose has-slot head says no
 *
 * Output, per utterance: the utterance, then
 *   slot   TASK LABEL [START,END) "TEXT" SCORE
 *   intent TASK LABEL SCORE
 */
#include "picotag.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TASKS 64

static int usage(const char *argv0) {
    fprintf(stderr, "usage: %s [--model PATH] [--tasks a,b] [--all-slots] UTTERANCE...\n", argv0);
    return 2;
}

int main(int argc, char **argv) {
    const char *model = "models/default.ptag";
    char *tasks_arg = NULL;
    const char *tasks[MAX_TASKS];
    picotag_options options;
    picotag_options_init(&options);

    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) {
            model = argv[++i];
        } else if (strcmp(argv[i], "--tasks") == 0 && i + 1 < argc) {
            tasks_arg = argv[++i];
        } else if (strcmp(argv[i], "--all-slots") == 0) {
            options.has_slot_threshold = -1.0f;
        } else if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else {
            return usage(argv[0]);
        }
    }
    if (i >= argc) return usage(argv[0]);
    if (tasks_arg) {
        for (char *name = strtok(tasks_arg, ","); name && options.n_tasks < MAX_TASKS;
             name = strtok(NULL, ","))
            tasks[options.n_tasks++] = name;
        options.tasks = tasks;
    }

    picotag_tagger *tagger = NULL;
    picotag_status status = picotag_open(model, &tagger);
    if (status != PICOTAG_STATUS_OK) {
        fprintf(stderr, "cannot open %s: %s: %s\n", model, picotag_status_name(status),
                picotag_last_error());
        return 1;
    }

    int exit_code = 0;
    for (; i < argc; i++) {
        picotag_result *result = NULL;
        status = picotag_tag_utterance_with(tagger, argv[i], strlen(argv[i]), &options, &result);
        if (status != PICOTAG_STATUS_OK) {
            fprintf(stderr, "cannot tag \"%s\": %s: %s\n", argv[i], picotag_status_name(status),
                    picotag_last_error());
            exit_code = 1;
            continue;
        }
        printf("%s\n", argv[i]);
        for (size_t k = 0; k < result->n_slots; k++) {
            const picotag_slot *s = &result->slots[k];
            printf("slot   %s %s [%zu,%zu) \"%s\" %.4f\n", s->task, s->label, s->start, s->end,
                   s->text, s->score);
        }
        for (size_t k = 0; k < result->n_intents; k++) {
            const picotag_intent *it = &result->intents[k];
            printf("intent %s %s %.4f\n", it->task, it->label, it->score);
        }
        picotag_result_free(result);
    }
    picotag_close(tagger);
    return exit_code;
}
