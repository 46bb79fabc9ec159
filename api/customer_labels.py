"""The customer's page in the customer's words: label key -> (English, 中文), as api.page_parts."""

from __future__ import annotations

CUSTOMER_LABELS: dict[str, tuple[str, str]] = {
    "title": ("Your complaint", "您的投诉"),
    "reference": ("Reference", "参考编号"),
    "status": ("Status", "状态"),
    "expected": ("We expect to complete it by", "预计完成时间"),
    "paused": (
        "(on hold until you answer our question)",
        "（在您回复我们的问题之前暂停计时）",
    ),
    "messages": ("Our messages to you", "我们发给您的消息"),
    "no_messages": ("No messages yet.", "暂无消息。"),
    "delivered": ("Delivered", "已送达"),
    "undelivered": ("Could not be delivered", "未能送达"),
    "your_replies": ("Your messages to us", "您给我们的留言"),
    "your_files": ("Your photos and documents", "您的照片和文件"),
    "reply_title": ("Answer our question", "回复我们的问题"),
    "reply": ("Your answer", "您的回复"),
    "send_reply": ("Send my answer", "发送回复"),
    # ... and when nothing is asked: a message to whoever handles the complaint.
    "write_title": ("Write to us", "给我们留言"),
    "write": ("Your message", "您的留言"),
    "send_write": ("Send my message", "发送留言"),
    "attach_title": ("Add a photo or document", "添加照片或文件"),
    "file": (
        "File (JPEG, PNG, GIF, WebP, PDF or text)",
        "文件（JPEG、PNG、GIF、WebP、PDF 或文本）",
    ),
    "send_file": ("Upload", "上传"),
    "feedback_title": ("How did we do?", "您对处理结果满意吗？"),
    "rating": ("Your rating (1 = poor, 5 = excellent)", "您的评分（1 = 很差，5 = 很好）"),
    "comment": ("Comment (optional)", "意见（可选）"),
    "send_feedback": ("Send my rating", "提交评分"),
    "not_solved": (
        "Not solved? Tell us why and we will reopen it.",
        "问题未解决？请说明原因，我们将重新处理。",
    ),
    "reason": ("What is still wrong", "仍存在的问题"),
    "reopen": ("Reopen my complaint", "重新处理我的投诉"),
    "thanks": ("Thank you: your answer is recorded.", "谢谢，您的反馈已记录。"),
    "status_open": ("We are working on it", "处理中"),
    "status_waiting_on_customer": ("Waiting for your answer", "等待您的回复"),
    "status_resolved": ("Resolved", "已解决"),
    "status_closed": ("Closed", "已关闭"),
    "status_archived": ("Closed", "已关闭"),
}
