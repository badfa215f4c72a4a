/*
 * bootinfo.c - copy the Multiboot information (specification 0.6.96,
 * section 3.3) into a struct boot_info, once, before anything else reads
 * it. A field counts only when its flags bit is set; strings, the map and
 * the module list are followed through their physical addresses (paging is
 * still off). The modules' contents and the framebuffer stay where they are:
 * only where they lie is copied. Nothing here prints or allocates.
 */
#include <stddef.h>
#include "boot/bootinfo.h"
#include "boot/multiboot.h"
#include "lib/string.h"

_Static_assert(offsetof(struct multiboot_info, colour_info) == 112,
               "GRUB puts the colour layout at offset 112 of the Multiboot information");

static const void *physical(uint32_t address)
{
    return (const void *)(uintptr_t)address;
}

/* The string at address, if its flag is set and the address is not 0; cut to fit. */
static void copy_string(struct boot_string *out, bool flagged, uint32_t address)
{
    if (!flagged || address == 0)
        return;
    const char *text = physical(address);
    size_t kept = out->length = strlen(text);

    if (kept > sizeof(out->text) - 1)
        kept = sizeof(out->text) - 1;
    memcpy(out->text, text, kept);
    out->text[kept] = '\0';
    out->given = true;
}

/* The slot of the last usable entry kept, or memory_count when there is none. */
static unsigned last_usable_slot(const struct boot_info *boot)
{
    for (unsigned i = boot->memory_count; i-- > 0;)
        if (boot->memory[i].type == BOOT_MEMORY_USABLE)
            return i;
    return boot->memory_count;
}

/*
 * Keep one entry. Once the table is full, a non-usable entry replaces the
 * last usable one (that RAM is left out instead); a usable entry, or a
 * non-usable one when no usable entry is kept, is left out itself.
 */
static void keep_entry(struct boot_info *boot, struct boot_memory_entry entry)
{
    unsigned slot = boot->memory_count;

    if (slot == BOOT_MAX_MEMORY_ENTRIES) {
        slot = entry.type == BOOT_MEMORY_USABLE ? slot : last_usable_slot(boot);
        boot->memory_left_out++;
        if (slot == BOOT_MAX_MEMORY_ENTRIES)
            return;
    } else {
        boot->memory_count++;
    }
    boot->memory[slot] = entry;
}

/* The map's entries are of varying size: each starts with its size, which excludes itself. */
static const struct multiboot_mmap_entry *next_entry(const struct multiboot_mmap_entry *entry)
{
    return (const void *)((uintptr_t)entry + entry->size + sizeof(entry->size));
}

static void copy_memory_map(struct boot_info *boot, const struct multiboot_info *info)
{
    uintptr_t end = (uintptr_t)info->mmap_addr + info->mmap_length;

    if (!(info->flags & MULTIBOOT_INFO_MEM_MAP))
        return;
    for (const struct multiboot_mmap_entry *entry = physical(info->mmap_addr);
         (uintptr_t)entry + sizeof(*entry) <= end; entry = next_entry(entry))
        keep_entry(boot, (struct boot_memory_entry){ entry->base, entry->length, entry->type });
}

/* Keep [start, end); past BOOT_MAX_MODULES, widen the last range to cover it too. */
static void keep_module(struct boot_info *boot, struct boot_range module)
{
    struct boot_range *last = &boot->modules[BOOT_MAX_MODULES - 1];

    if (boot->module_count < BOOT_MAX_MODULES) {
        boot->modules[boot->module_count++] = module;
        return;
    }
    if (module.start < last->start)
        last->start = module.start;
    if (module.end > last->end)
        last->end = module.end;
}

static void copy_modules(struct boot_info *boot, const struct multiboot_info *info)
{
    const struct multiboot_module *modules = physical(info->mods_addr);

    if (!(info->flags & MULTIBOOT_INFO_MODS))
        return;
    for (uint32_t i = 0; i < info->mods_count; i++)
        keep_module(boot, (struct boot_range){ modules[i].start, modules[i].end });
}

static void copy_framebuffer(struct boot_info *boot, const struct multiboot_info *info)
{
    if (!(info->flags & MULTIBOOT_INFO_FRAMEBUFFER))
        return;
    boot->has_framebuffer = true;
    boot->framebuffer = (struct boot_framebuffer){
        .address = info->framebuffer_addr,
        .pitch = info->framebuffer_pitch,
        .width = info->framebuffer_width,
        .height = info->framebuffer_height,
        .bpp = info->framebuffer_bpp,
        .type = info->framebuffer_type,
        .red = { info->colour_info.rgb.red_position, info->colour_info.rgb.red_size },
        .green = { info->colour_info.rgb.green_position, info->colour_info.rgb.green_size },
        .blue = { info->colour_info.rgb.blue_position, info->colour_info.rgb.blue_size },
    };
}

bool bootinfo_copy(struct boot_info *boot, uint32_t magic, const struct multiboot_info *info)
{
    memset(boot, 0, sizeof(*boot));
    if (magic != MULTIBOOT_BOOTLOADER_MAGIC)
        return false;
    copy_string(&boot->loader_name, info->flags & MULTIBOOT_INFO_LOADER_NAME, info->boot_loader_name);
    copy_string(&boot->command_line, info->flags & MULTIBOOT_INFO_CMDLINE, info->cmdline);
    copy_memory_map(boot, info);
    copy_modules(boot, info);
    copy_framebuffer(boot, info);
    return true;
}

bool bootinfo_has_word(const struct boot_info *boot, const char *word)
{
    const char *line = boot->command_line.text;
    size_t length = strlen(word);

    for (const char *s = line; *s != '\0'; s++)
        if ((s == line || s[-1] == ' ') && strncmp(s, word, length) == 0 &&
            (s[length] == ' ' || s[length] == '\0'))
            return true;
    return false;
}
