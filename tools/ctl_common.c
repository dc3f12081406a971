/* ctl_common.c: helpers shared by billordctl's subcommands. */
#include <string.h>
#include <sys/stat.h>

#include "ctl.h"

bool ctl_open_engine(const char *program, const char *data_dir, billord_engine **out_engine)
{
    struct stat st;
    if (stat(data_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "%s: --data %s: no such data directory\n", program, data_dir);
        return false;
    }
    billord_engine_config config = {.data_dir = data_dir};
    billord_err err = billord_engine_open(&config, out_engine);
    if (err != BILLORD_OK) {
        fprintf(stderr, "%s: --data %s: %s\n", program, data_dir, billord_err_message(err));
        return false;
    }
    return true;
}

static void print_scalar(FILE *out, const json_t *value)
{
    switch (json_typeof(value)) {
    case JSON_STRING:
        fprintf(out, "%s", json_string_value(value));
        break;
    case JSON_INTEGER:
        fprintf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
        break;
    case JSON_TRUE:
        fprintf(out, "true");
        break;
    case JSON_FALSE:
        fprintf(out, "false");
        break;
    case JSON_NULL:
        fprintf(out, "-");
        break;
    default:
        break;
    }
}

void ctl_print_human(FILE *out, const json_t *value, int indent)
{
    if (json_is_object(value)) {
        const char *key;
        json_t *child;
        json_object_foreach((json_t *)value, key, child) {
            fprintf(out, "%*s%s:", indent, "", key);
            bool nested = json_is_object(child) || (json_is_array(child) && json_array_size(child));
            if (nested) {
                fprintf(out, "\n");
                ctl_print_human(out, child, indent + 2);
            } else {
                fprintf(out, " ");
                if (json_is_array(child)) {
                    fprintf(out, "(none)");
                } else {
                    print_scalar(out, child);
                }
                fprintf(out, "\n");
            }
        }
    } else if (json_is_array(value)) {
        size_t index;
        json_t *item;
        json_array_foreach((json_t *)value, index, item) {
            if (json_is_object(item)) {
                fprintf(out, "%*s- [%zu]\n", indent, "", index);
                ctl_print_human(out, item, indent + 2);
            } else {
                fprintf(out, "%*s- ", indent, "");
                print_scalar(out, item);
                fprintf(out, "\n");
            }
        }
    }
}
