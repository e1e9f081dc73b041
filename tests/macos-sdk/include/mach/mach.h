/* macOS <mach/mach.h> and <mach/mach_vm.h>: the task port and the VM calls lockfix uses to
** change a page's protection (mach_vm_protect with VM_PROT_COPY makes a private, writable copy
** of a page whose maximum protection does not include write) and to read it (mach_vm_region). */
#ifndef LF_SDK_MACH_MACH_H
#define LF_SDK_MACH_MACH_H
#include <stdint.h>
typedef int kern_return_t;
typedef unsigned int mach_port_t;
typedef unsigned int natural_t;
typedef int integer_t;
typedef int boolean_t;
typedef int vm_prot_t;
typedef unsigned int vm_inherit_t;
typedef unsigned int vm_behavior_t;
typedef uint64_t mach_vm_address_t;
typedef uint64_t mach_vm_size_t;
typedef uint64_t memory_object_offset_t;
typedef natural_t mach_msg_type_number_t;
typedef mach_port_t vm_map_t;
typedef mach_port_t memory_object_name_t;
typedef int vm_region_flavor_t;
typedef int *vm_region_info_t;
#define KERN_SUCCESS 0
#define MACH_PORT_NULL 0
#define FALSE 0
#define TRUE 1
#define VM_PROT_NONE ((vm_prot_t)0x00)
#define VM_PROT_READ ((vm_prot_t)0x01)
#define VM_PROT_WRITE ((vm_prot_t)0x02)
#define VM_PROT_EXECUTE ((vm_prot_t)0x04)
#define VM_PROT_COPY ((vm_prot_t)0x10)
#define VM_REGION_BASIC_INFO_64 9
struct vm_region_basic_info_64 {
    vm_prot_t protection;
    vm_prot_t max_protection;
    vm_inherit_t inheritance;
    boolean_t shared;
    boolean_t reserved;
    memory_object_offset_t offset;
    vm_behavior_t behavior;
    unsigned short user_wired_count;
} __attribute__((packed, aligned(4)));
typedef struct vm_region_basic_info_64 vm_region_basic_info_data_64_t;
#define VM_REGION_BASIC_INFO_COUNT_64                                                              \
    ((mach_msg_type_number_t)(sizeof(vm_region_basic_info_data_64_t) / sizeof(int)))
extern mach_port_t mach_task_self_;
#define mach_task_self() mach_task_self_
kern_return_t mach_vm_protect(vm_map_t task, mach_vm_address_t address, mach_vm_size_t size,
                              boolean_t set_maximum, vm_prot_t new_protection);
kern_return_t mach_vm_region(vm_map_t task, mach_vm_address_t *address, mach_vm_size_t *size,
                             vm_region_flavor_t flavor, vm_region_info_t info,
                             mach_msg_type_number_t *info_count, mach_port_t *object_name);
#endif
