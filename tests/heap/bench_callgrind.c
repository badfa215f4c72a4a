/*
 * bench_callgrind.c - run this program again under callgrind and read back
 * its instruction counts (see bench_callgrind.h). The child ends each
 * stretch with CALLGRIND_DUMP_STATS_AT, which writes one file per stretch
 * (callgrind.out.1, .2, ...) holding its label ("desc: Trigger: Client
 * Request: LABEL") and its total ("totals: N"); the parent reads those.
 * The child runs with glibc's memset kept off `rep stosb`, whose every byte
 * callgrind counts as an instruction (debug mode's poison is all memset).
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <valgrind/callgrind.h>

#include "bench_callgrind.h"

extern char **environ;

#define PATH_BYTES 4096
#define DUMP_NAME "callgrind.out"       /* the stretches are DUMP_NAME.1, DUMP_NAME.2, ... */
#define LOG_NAME "valgrind.log"         /* valgrind's own messages and the child's output */
#define TRIGGER "desc: Trigger: Client Request: "
#define TUNABLES "GLIBC_TUNABLES=glibc.cpu.x86_rep_stosb_threshold=0x7fffffffffffffff"
#define ENVIRONMENT_MAX 512

enum run_status { RUN_OK, RUN_NO_VALGRIND, RUN_FAILED };

/* ---- the parent: running the child ------------------------------------------------ */

/* This environment, plus TUNABLES unless the user set GLIBC_TUNABLES already. */
static char **child_environment(char *out[ENVIRONMENT_MAX])
{
    size_t n = 0;
    int tuned = 0;

    for (char **e = environ; *e != NULL && n + 2 < ENVIRONMENT_MAX; e++) {
        tuned |= strncmp(*e, "GLIBC_TUNABLES=", 15) == 0;
        out[n++] = *e;
    }
    if (!tuned)
        out[n++] = TUNABLES;
    out[n] = NULL;
    return out;
}

/* Start argv with stdout and stderr going to the file log; 0 or an errno value. */
static int spawn_logged(char *const argv[], const char *log, pid_t *pid)
{
    posix_spawn_file_actions_t actions;
    char *environment[ENVIRONMENT_MAX];

    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log, O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    int error = posix_spawnp(pid, argv[0], &actions, NULL, argv,
                             child_environment(environment));
    posix_spawn_file_actions_destroy(&actions);
    return error;
}

/* valgrind --tool=callgrind ... SELF mode, writing its files into dir; waits for it. */
static enum run_status run_valgrind(const char *dir, const char *mode)
{
    char self[PATH_BYTES], dump[PATH_BYTES + 64], log[PATH_BYTES + 64], toggle[64];
    ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
    pid_t pid;
    int status;

    if (length < 0)
        return RUN_FAILED;
    self[length] = '\0';
    snprintf(dump, sizeof dump, "--callgrind-out-file=%s/%s", dir, DUMP_NAME);
    snprintf(log, sizeof log, "%s/%s", dir, LOG_NAME);
    snprintf(toggle, sizeof toggle, "--toggle-collect=%s*", CALLGRIND_COUNTED_PREFIX);
    char *argv[] = {"valgrind", "--tool=callgrind", "--collect-atstart=no", toggle, dump,
                    self, (char *)mode, NULL};
    if (spawn_logged(argv, log, &pid) != 0)
        return RUN_NO_VALGRIND;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return RUN_FAILED;
    return RUN_OK;
}

/* ---- the parent: reading the stretches ------------------------------------------- */

/* Copy text into label up to its newline, cut to fit. */
static void copy_label(char *label, const char *text)
{
    size_t n = strcspn(text, "\n");

    if (n >= CALLGRIND_LABEL_BYTES)
        n = CALLGRIND_LABEL_BYTES - 1;
    memcpy(label, text, n);
    label[n] = '\0';
}

/* Fill *count from one dump file; 0 when it is not a labelled stretch with a total. */
static int read_dump(const char *path, struct callgrind_count *count)
{
    FILE *file = fopen(path, "r");
    char line[1024];
    int labelled = 0, totalled = 0, line_start = 1;

    if (file == NULL)
        return 0;
    while (fgets(line, sizeof line, file) != NULL) {
        if (line_start && strncmp(line, TRIGGER, strlen(TRIGGER)) == 0) {
            copy_label(count->label, line + strlen(TRIGGER));
            labelled = 1;
        } else if (line_start && strncmp(line, "totals: ", 8) == 0) {
            count->instructions = strtoull(line + 8, NULL, 10);
            totalled = 1;
        }
        line_start = strchr(line, '\n') != NULL;    /* a long line comes in pieces */
    }
    fclose(file);
    return labelled && totalled;
}

/* Read every labelled stretch in dir into out (at most max); how many were read. */
static int read_stretches(const char *dir, struct callgrind_count *out, size_t max)
{
    DIR *listing = opendir(dir);
    struct dirent *entry;
    char path[PATH_BYTES + 256];
    size_t n = 0;

    if (listing == NULL)
        return 0;
    while (n < max && (entry = readdir(listing)) != NULL) {
        if (strncmp(entry->d_name, DUMP_NAME ".", strlen(DUMP_NAME) + 1) != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
        n += (size_t)read_dump(path, &out[n]);
    }
    closedir(listing);
    return (int)n;
}

/* Delete dir and the files in it (the run writes no subdirectories). */
static void remove_files(const char *dir)
{
    DIR *listing = opendir(dir);
    struct dirent *entry;
    char path[PATH_BYTES + 256];

    if (listing == NULL)
        return;
    while ((entry = readdir(listing)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
        unlink(path);
    }
    closedir(listing);
    rmdir(dir);
}

int callgrind_run_self(const char *mode, struct callgrind_count *out, size_t max)
{
    char dir[] = "/tmp/shompos-bench.XXXXXX";

    if (mkdtemp(dir) == NULL) {
        perror("bench: instruction counts: mkdtemp");
        return -1;
    }
    enum run_status status = run_valgrind(dir, mode);
    if (status == RUN_NO_VALGRIND) {
        printf("instruction counts: valgrind not found (scripts/install-deps.sh installs it)\n");
        remove_files(dir);
        return -1;
    }
    if (status == RUN_FAILED) {
        printf("instruction counts: the callgrind run failed; its log: %s/%s\n", dir, LOG_NAME);
        return -1;
    }
    int n = read_stretches(dir, out, max);
    remove_files(dir);
    return n;
}

double callgrind_find(const struct callgrind_count *counts, int n, const char *label)
{
    for (int i = 0; i < n; i++)
        if (strcmp(counts[i].label, label) == 0)
            return (double)counts[i].instructions;
    return -1;
}

/* ---- the child --------------------------------------------------------------------- */

int callgrind_active(void) { return RUNNING_ON_VALGRIND; }

void callgrind_stretch_start(void) { CALLGRIND_ZERO_STATS; }

void callgrind_stretch_end(const char *label) { CALLGRIND_DUMP_STATS_AT(label); }
