"""Every string the console shows, Vietnamese first, English second.

Templates and the service call ``t(key, lang, **values)``; a test keeps the two
dictionaries on the same keys and every Vietnamese string in NFC (precomposed
diacritics, so search and comparison behave). Status labels are the gateway's
own: services do not share code, only contracts.
"""
LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
LANGUAGE_COOKIE = "tinxa_lang"

VI = {
    "app.tagline": "Hệ thống thông tin nguồn xã",
    "nav.label": "Điều hướng chính",
    "nav.overview": "Tổng quan",
    "nav.tasks": "Nhiệm vụ",
    "header.commune": "Xã",
    "header.language": "Ngôn ngữ",
    "header.logout": "Đăng xuất",
    "header.district": "Quản trị cấp huyện",
    "login.title": "Đăng nhập",
    "login.intro": "Công tác thông tin cơ sở và thông tin đối ngoại của xã.",
    "login.username": "Tên đăng nhập",
    "login.password": "Mật khẩu",
    "login.submit": "Đăng nhập",
    "login.failed": "Tên đăng nhập hoặc mật khẩu không đúng.",
    "login.rate_limited": "Bạn đã nhập sai quá nhiều lần. Vui lòng thử lại sau {minutes} phút.",
    "login.form_expired": "Biểu mẫu đã hết hạn. Vui lòng đăng nhập lại.",
    "login.logged_out": "Bạn đã đăng xuất.",
    "overview.title": "Tổng quan",
    "overview.plans": "Kế hoạch",
    "overview.no_plans": "Xã chưa có kế hoạch nào.",
    "overview.imported_at": "Nhập lúc {time}",
    "overview.task_count": "{count} nhiệm vụ",
    "overview.by_status": "Theo trạng thái",
    "overview.by_part": "Theo phần",
    "overview.part_done": "{done}/{total} hoàn thành",
    "overview.activity": "Hoạt động gần đây",
    "overview.no_activity": "Chưa có hoạt động nào.",
    "overview.choose_commune": "Chọn xã để làm việc",
    "overview.no_communes": "Chưa có xã nào.",
    "part.I": "I. Thông tin cơ sở",
    "part.II": "II. Thông tin đối ngoại",
    "tasks.title": "Nhiệm vụ",
    "tasks.code": "TT",
    "tasks.task": "Nhiệm vụ cụ thể",
    "tasks.lead": "Cơ quan chủ trì",
    "tasks.coordinating": "Cơ quan phối hợp",
    "tasks.timeline": "Thời gian thực hiện",
    "tasks.status": "Trạng thái",
    "tasks.filter.status": "Trạng thái",
    "tasks.filter.all": "Tất cả",
    "tasks.filter.agency": "Cơ quan chủ trì",
    "tasks.filter.q": "Tìm kiếm",
    "tasks.filter.q_hint": "Mã, nội dung, cơ quan…",
    "tasks.filter.part": "Phần",
    "tasks.filter.apply": "Lọc",
    "tasks.filter.reset": "Xóa bộ lọc",
    "tasks.empty": "Không có nhiệm vụ nào phù hợp.",
    "tasks.range": "{start}–{end} trên {total} nhiệm vụ",
    "tasks.previous": "← Trang trước",
    "tasks.next": "Trang sau →",
    "task.back": "← Danh sách nhiệm vụ",
    "task.details": "Nội dung chi tiết",
    "task.changed_at": "Cập nhật trạng thái lúc {time}",
    "task.change_status": "Cập nhật trạng thái",
    "task.save": "Lưu trạng thái",
    "task.read_only": "Bạn chỉ có quyền xem nhiệm vụ này.",
    "task.status_changed": "Đã chuyển nhiệm vụ {code} sang «{status}».",
    "status.not_started": "Chưa thực hiện",
    "status.in_progress": "Đang thực hiện",
    "status.waiting_guidance": "Chờ hướng dẫn",
    "status.done": "Hoàn thành",
    "status.cancelled": "Hủy bỏ",
    "activity.task_status_changed": "{actor} chuyển nhiệm vụ {code} từ «{old}» sang «{new}»",
    "activity.plan_imported": "{actor} nhập kế hoạch «{title}» ({count} nhiệm vụ)",
    "activity.system": "Hệ thống",
    "error.title": "Có lỗi xảy ra",
    "error.400": "Yêu cầu không hợp lệ",
    "error.403": "Không có quyền truy cập",
    "error.404": "Không tìm thấy",
    "error.405": "Phương thức không được hỗ trợ",
    "error.409": "Xung đột dữ liệu",
    "error.413": "Dữ liệu gửi lên quá lớn",
    "error.415": "Định dạng dữ liệu không được hỗ trợ",
    "error.429": "Quá nhiều yêu cầu",
    "error.500": "Lỗi hệ thống",
    "error.503": "Dịch vụ tạm thời không phản hồi",
    "error.request_id": "Mã yêu cầu",
    "error.home": "Về trang tổng quan",
    "common.none": "—",
}

EN = {
    "app.tagline": "Commune source-information system",
    "nav.label": "Main navigation",
    "nav.overview": "Overview",
    "nav.tasks": "Tasks",
    "header.commune": "Commune",
    "header.language": "Language",
    "header.logout": "Log out",
    "header.district": "District administration",
    "login.title": "Sign in",
    "login.intro": "Grassroots and foreign information work of the commune.",
    "login.username": "Username",
    "login.password": "Password",
    "login.submit": "Sign in",
    "login.failed": "Wrong username or password.",
    "login.rate_limited": "Too many failed attempts. Please try again in {minutes} minutes.",
    "login.form_expired": "The form has expired. Please sign in again.",
    "login.logged_out": "You have been logged out.",
    "overview.title": "Overview",
    "overview.plans": "Plans",
    "overview.no_plans": "The commune has no plan yet.",
    "overview.imported_at": "Imported {time}",
    "overview.task_count": "{count} tasks",
    "overview.by_status": "By status",
    "overview.by_part": "By part",
    "overview.part_done": "{done}/{total} done",
    "overview.activity": "Recent activity",
    "overview.no_activity": "No activity yet.",
    "overview.choose_commune": "Choose a commune to work on",
    "overview.no_communes": "There are no communes yet.",
    "part.I": "I. Grassroots information",
    "part.II": "II. Foreign information",
    "tasks.title": "Tasks",
    "tasks.code": "No.",
    "tasks.task": "Task",
    "tasks.lead": "Lead agency",
    "tasks.coordinating": "Co-ordinating agencies",
    "tasks.timeline": "Timeline",
    "tasks.status": "Status",
    "tasks.filter.status": "Status",
    "tasks.filter.all": "All",
    "tasks.filter.agency": "Lead agency",
    "tasks.filter.q": "Search",
    "tasks.filter.q_hint": "Code, text, agency…",
    "tasks.filter.part": "Part",
    "tasks.filter.apply": "Filter",
    "tasks.filter.reset": "Clear filters",
    "tasks.empty": "No task matches.",
    "tasks.range": "{start}–{end} of {total} tasks",
    "tasks.previous": "← Previous",
    "tasks.next": "Next →",
    "task.back": "← Task list",
    "task.details": "Details",
    "task.changed_at": "Status updated {time}",
    "task.change_status": "Change status",
    "task.save": "Save status",
    "task.read_only": "You can only view this task.",
    "task.status_changed": "Task {code} is now “{status}”.",
    "status.not_started": "Not started",
    "status.in_progress": "In progress",
    "status.waiting_guidance": "Waiting for guidance",
    "status.done": "Done",
    "status.cancelled": "Cancelled",
    "activity.task_status_changed": "{actor} moved task {code} from “{old}” to “{new}”",
    "activity.plan_imported": "{actor} imported the plan “{title}” ({count} tasks)",
    "activity.system": "System",
    "error.title": "Something went wrong",
    "error.400": "Invalid request",
    "error.403": "Access denied",
    "error.404": "Not found",
    "error.405": "Method not allowed",
    "error.409": "Conflict",
    "error.413": "Request too large",
    "error.415": "Unsupported content type",
    "error.429": "Too many requests",
    "error.500": "Internal error",
    "error.503": "Service temporarily unavailable",
    "error.request_id": "Request id",
    "error.home": "Back to the overview",
    "common.none": "—",
}

DICTIONARIES = {"vi": VI, "en": EN}


def language(value):
    """A supported language code; anything else falls back to Vietnamese."""
    return value if value in DICTIONARIES else DEFAULT_LANGUAGE


def t(key, lang=DEFAULT_LANGUAGE, **values):
    """The text for ``key`` in ``lang``, with ``{placeholders}`` filled.

    An unknown key raises KeyError: a missing string is a bug a test should
    catch, not something to paper over with the key's name.
    """
    text = DICTIONARIES[language(lang)][key]
    return text.format(**values) if values else text


def label(kind, value, lang=DEFAULT_LANGUAGE):
    """A code of another service in words ("status", "in_progress"). Such codes
    belong to their service, which may add one before the gateway learns its
    label: the code itself is shown meanwhile."""
    key = f"{kind}.{value}"
    return t(key, lang) if key in VI else value


def status_label(status, lang=DEFAULT_LANGUAGE):
    return label("status", status, lang)
