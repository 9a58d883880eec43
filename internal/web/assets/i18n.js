// sockit ui: the page's words in English and Chinese. Every label, message,
// placeholder and tooltip the page shows comes through t(key, params):
// index.html names its keys in data-i18n (text), data-i18n-title,
// data-i18n-placeholder and data-i18n-aria (aria-label) attributes, and
// app.js calls t. The language is the one chosen in the page (kept in
// localStorage), else the browser's first language we have, else English.
// A key missing in one language falls back to English, then to the key.
// Texts that come from sockit itself (a session's status, events, errors)
// go through tr(), which translates the ones it knows by pattern.
'use strict';

(function () {
  const en = {
    'lang.name': 'English',
    'app.title': 'sockit ui',
    'top.sessions': 'Sessions',
    'top.new': '+ New session',
    'top.new.title': 'New session (Alt+N)',
    'top.lang.title': 'Language',
    'top.theme.title': 'Theme',
    'theme.auto': 'Theme: system',
    'theme.light': 'Theme: light',
    'theme.dark': 'Theme: dark',
    'link.title': 'Connection to the sockit process',
    'link.connecting': 'connecting…',
    'link.connected': 'connected',
    'link.lost': 'disconnected: is sockit ui still running? retrying…',
    'err.lost': 'lost the connection to sockit',
    'err.notConnected': 'not connected to sockit',
    // uiback: workspace, log cap, reconnect, files, multicast, advanced
    'restore.text': '{n} sessions from last time: {names}',
    'restore.text.one': '1 session from last time: {names}',
    'restore.open': 'Reopen',
    'restore.forget': 'Forget',
    'log.use': 'Log holds {held} of {cap}',
    'log.use.title': 'sockit ui keeps each session\'s log within this much memory (sockit ui --max-log); the oldest events go first',
    'log.dropped': '{n} oldest events dropped ({bytes} of data)',
    'log.dropped.one': '1 oldest event dropped ({bytes} of data)',
    'form.autoReconnect': 'Auto-reconnect',
    'form.autoReconnect.title': 'When the connection ends or fails, connect again after 0.5 s, then 1 s, 2 s… up to 30 s',
    'retry.wait': 'reconnecting in {s} s (attempt {n})',
    'repeat.missed': ' · {n} missed (nobody connected)',
    'repeat.badEvery': 'Interval: a whole number of ms from 1 to 3600000',
    'repeat.badCount': 'Count: a whole number from 0 (until stopped) to 1000000000',
    'files.title': 'Files',
    'files.recv': 'Receive to file',
    'files.recv.ph': 'path of a new file, e.g. /tmp/received.bin',
    'files.recv.title': 'What this session receives, raw, written to a new file on the machine sockit runs on',
    'files.start': 'Start',
    'files.stop': 'Stop',
    'files.recv.active': 'writing: {bytes}',
    'files.recv.done': '{bytes} written',
    'files.send': 'Send file',
    'files.send.ph': 'path of the file to send',
    'files.send.title': 'Sent as it is (no line end, encoding or framing), to the same target as the send box',
    'files.chunk': 'chunk',
    'files.chunk.title': 'Bytes per write (datagram); empty: 64 KiB, or 1024 on UDP',
    'files.delay': 'delay',
    'files.delay.title': 'Pause between chunks, ms',
    'files.sent': '{bytes} of {total}',
    'form.broadcast': 'Broadcast',
    'form.broadcast.title': 'Allow sending to broadcast addresses (SO_BROADCAST), such as 192.168.1.255',
    'form.group': 'Multicast group',
    'form.group.ph': 'e.g. 239.1.2.3 (joins on the local port)',
    'form.iface': 'Interface',
    'form.iface.ph': 'name or address; empty: the system\'s',
    'form.ttl': 'TTL',
    'form.ttl.ph': 'system\'s',
    'form.loop': 'Multicast loop',
    'form.loop.title': 'Deliver our own datagrams to a group back to this host',
    // uiback end

    'form.title': 'New session',
    'form.kind': 'Kind',
    'kind.tcp-client': 'TCP client',
    'kind.tcp-server': 'TCP server',
    'kind.udp': 'UDP',
    'help.tcp-client': 'Connects to a TCP (or TLS) server. Local is an optional source address or port.',
    'help.tcp-server': 'Listens for TCP (or TLS) clients; shows each one, sends to one or all.',
    'help.udp': 'A bound UDP socket: shows every datagram with its sender; sends to the default remote or to any peer.',
    'form.remote': 'Remote',
    'form.remoteUDP': 'Default remote (optional)',
    'form.local': 'Local',
    'form.localClient': 'Local (optional)',
    'form.localUDP': 'Local (bind)',
    'form.listen': 'Listen on',
    'form.any': 'any',
    'form.listen.ph': '127.0.0.1:8888 (0.0.0.0:PORT for every interface)',
    'form.bind.ph': ':PORT listens on every interface',
    'form.encoding': 'Encoding',
    'form.frame': 'Framing',
    'frame.raw': 'raw (as read)',
    'frame.line': 'line (\\n or \\r\\n)',
    'frame.delim': 'delimiter…',
    'frame.fixed': 'fixed size…',
    'frame.len8': 'len8 prefix',
    'frame.len16': 'len16 prefix (BE)',
    'frame.len16le': 'len16le prefix',
    'frame.len32': 'len32 prefix (BE)',
    'frame.len32le': 'len32le prefix',
    'frame.bytes': 'bytes',
    'form.name': 'Name',
    'form.optional': 'optional',
    'tls.insecure': 'Accept any certificate',
    'tls.pin': 'Pin (SHA-256)',
    'tls.sni': 'Server name',
    'tls.sni.ph': 'default: the host',
    'tls.ca': 'CA file',
    'tls.pem': 'PEM file',
    'tls.cert': 'Certificate',
    'tls.cert.ph': 'PEM file; empty: a throwaway self-signed one',
    'tls.key': 'Key',
    'form.open': 'Open',
    'form.cancel': 'Cancel',
    'form.notOpened': 'Not opened.',
    'keys.title': 'Keys:',
    'keys.send': 'send',
    'keys.clear': 'clear the log',
    'keys.history': 'history',
    'keys.new': 'new session',
    'confirm.why': 'Other machines (or users) will be able to connect to it, and whatever they send shows up here and meets this session\'s response rules. sockit notes it on its terminal.',
    'confirm.yes': 'Open it',

    'panel.encoding': 'Encoding',
    'panel.encoding.title': 'How text is shown and sent',
    'panel.reconnect': 'Reconnect',
    'panel.disconnect': 'Disconnect',
    'panel.close': 'Close session',
    'chip.tcp-client': 'tcp client',
    'chip.tcp-server': 'tcp server',
    'chip.udp': 'udp',
    'chip.tls': 'tls',
    'chip.frame': 'frame {f}',

    'log.view': 'View',
    'log.text': 'Text',
    'log.hex': 'Hex',
    'log.filter.ph': 'Filter: text, hex or peer',
    'log.autoscroll': 'Auto-scroll',
    'log.pause': 'Pause',
    'log.resume': 'Resume',
    'log.clear': 'Clear',
    'log.clear.title': 'Clear the log (Ctrl+K)',
    'log.json.title': 'The log as JSON lines, as --record writes it (sockit replay plays it back)',
    'log.text.title': 'The log as text',
    'log.dl.json': '⤓ JSON',
    'log.dl.text': '⤓ Text',
    'log.empty': 'Nothing yet: what is sent and received shows here.',
    'log.nomatch': 'Nothing matches the filter.',
    'log.more': ' … {n} more bytes (in the download)',
    'log.emptyMsg': '(empty)',
    'info.filtered': '{shown} shown of {kept} (filtered)',
    'info.last': 'showing the last {shown} of {kept} events',
    'info.events': '{n} events',
    'info.events.one': '{n} event',
    'info.older': '{n} older hidden',
    'info.skipped': '{n} skipped while the page caught up',
    'info.download': 'the download has all that sockit keeps',
    'info.paused': 'paused',
    'info.pausedNew': 'paused, {n} new',

    'send.input': 'Input',
    'send.text': 'Text',
    'send.hex': 'Hex',
    'send.enc': 'Enc',
    'send.enc.title': 'Encoding of text sent',
    'send.session': 'session',
    'send.eol': 'EOL',
    'send.eol.title': 'Line end appended to each message',
    'send.none': 'none',
    'send.escapes': 'Escapes',
    'send.template': 'Template',
    'send.checksum': 'Checksum',
    'send.checksum.title': 'Appended to each message',
    'send.to': 'To',
    'send.ph': 'Message · Ctrl+Enter sends',
    'send.hex.ph': 'Hex bytes: 48 65 6c 6c 6f, 48656c6c6f or 0x48,0x65 · Ctrl+Enter sends',
    'send.send': 'Send',
    'send.every': 'every',
    'send.ms': 'ms ×',
    'send.count.title': '0: until stopped',
    'send.repeat': 'Repeat',
    'send.stop': 'Stop',
    'send.history': 'History',
    'send.historyN': 'History ({n})',
    'send.history.title': 'Sent before (Ctrl+↑/↓)',
    'send.name.ph': 'Name',
    'send.save': 'Save',
    'send.save.title': 'Keep this message in Saved messages',
    'send.needName': 'give the message a name to save it',
    'repeat.sending': 'sending: {n}',
    'repeat.sent': 'sent {n}',
    'repeat.of': ' of {n}',
    'repeat.forever': ' (until stopped)',

    'side.counters': 'Counters',
    'side.reset': 'reset',
    'side.reset.title': 'Zero the counters',
    'side.bytes': 'bytes',
    'side.messages': 'messages',
    'side.rate': 'rate',
    'side.in': 'In',
    'side.out': 'Out',
    'side.peers': 'Peers',
    'side.saved': 'Saved messages',
    'side.rules': 'Auto-reply rules',
    'rules.ph': 'PATTERN=>REPLY, one a line, e.g.\n^PING$=>PONG\\r\\n\n^AT$=>hex:4f4b0d0a\n^TIME$=>{{time}}\\r\\n',
    'rules.apply': 'Apply',
    'rules.pending': 'not applied yet',
    'rules.active': '{n} rules active',
    'rules.active.one': '{n} rule active',
    'rules.none': 'no rules',

    'peers.noUDP': 'No datagrams received yet.',
    'peers.noTCP': 'No clients connected.',
    'peers.meta': '{in} in · {out} out',
    'peers.conv': 'conversation #{id}',
    'peers.sendTo': 'send to',
    'peers.toAll': 'to all',
    'peers.sendTo.title': 'Send only to this peer',
    'peers.toAll.title': 'Send to every peer again',
    'peers.forget': 'Forget this peer',
    'peers.kick': 'Disconnect',
    'to.remote': 'default remote {addr}',
    'to.allPeers': 'all peers',
    'to.allClients': 'all clients',

    'saved.empty': 'Type a message, give it a name and Save: it stays here, one click to send.',
    'saved.send': 'Send {name}',
    'saved.edit': 'edit',
    'saved.edit.title': 'Put it in the send box',
    'saved.delete': 'Delete',
  };

  const zh = {
    'lang.name': '中文',
    'app.title': 'sockit 网络调试助手',
    'top.sessions': '会话',
    'top.new': '+ 新建会话',
    'top.new.title': '新建会话 (Alt+N)',
    'top.lang.title': '界面语言',
    'top.theme.title': '主题',
    'theme.auto': '主题：跟随系统',
    'theme.light': '主题：浅色',
    'theme.dark': '主题：深色',
    'link.title': '与 sockit 进程的连接',
    'link.connecting': '正在连接…',
    'link.connected': '已连接',
    'link.lost': '连接已断开：sockit ui 是否仍在运行？正在重试…',
    'err.lost': '与 sockit 的连接已断开',
    'err.notConnected': '未连接到 sockit',
    // uiback: workspace, log cap, reconnect, files, multicast, advanced
    'restore.text': '上次的 {n} 个会话：{names}',
    'restore.text.one': '上次的 1 个会话：{names}',
    'restore.open': '重新打开',
    'restore.forget': '丢弃',
    'log.use': '日志占用 {held} / {cap}',
    'log.use.title': 'sockit ui 把每个会话的日志限制在这么多内存内（启动 sockit ui 时可以调整），超出时先丢弃最早的事件',
    'log.dropped': '已丢弃最早的 {n} 个事件（数据 {bytes}）',
    'log.dropped.one': '已丢弃最早的 1 个事件（数据 {bytes}）',
    'form.autoReconnect': '自动重连',
    'form.autoReconnect.title': '连接断开或失败后自动重连：先等 0.5 秒，之后 1 秒、2 秒……最长 30 秒',
    'retry.wait': '{s} 秒后重连（第 {n} 次）',
    'repeat.missed': ' · {n} 条未发出（无连接）',
    'repeat.badEvery': '间隔须为 1 到 3600000 之间的整数毫秒',
    'repeat.badCount': '次数须为 0（直到停止）到 1000000000 之间的整数',
    'files.title': '文件',
    'files.recv': '接收保存到文件',
    'files.recv.ph': '新文件的路径，例如 /tmp/received.bin',
    'files.recv.title': '把本会话收到的原始字节写入 sockit 所在机器上的一个新文件',
    'files.start': '开始',
    'files.stop': '停止',
    'files.recv.active': '正在写入：{bytes}',
    'files.recv.done': '已写入 {bytes}',
    'files.send': '发送文件',
    'files.send.ph': '要发送的文件路径',
    'files.send.title': '按原样发送（不加行尾、不转码、不分帧），发送目标与发送框相同',
    'files.chunk': '每块',
    'files.chunk.title': '每次写入（每个数据报）的字节数；留空为 64 KiB，UDP 为 1024',
    'files.delay': '间隔',
    'files.delay.title': '每块之间的停顿（毫秒）',
    'files.sent': '{bytes} / {total}',
    'form.broadcast': '广播',
    'form.broadcast.title': '允许发送到广播地址（SO_BROADCAST），例如 192.168.1.255',
    'form.group': '组播组',
    'form.group.ph': '例如 239.1.2.3（在本地端口上加入）',
    'form.iface': '网卡',
    'form.iface.ph': '名称或地址；留空由系统选择',
    'form.ttl': 'TTL',
    'form.ttl.ph': '系统默认',
    'form.loop': '组播回环',
    'form.loop.title': '把自己发往组播组的数据报也送回本机',
    // uiback end

    'form.title': '新建会话',
    'form.kind': '类型',
    'kind.tcp-client': 'TCP 客户端',
    'kind.tcp-server': 'TCP 服务器',
    'kind.udp': 'UDP',
    'help.tcp-client': '连接到 TCP（或 TLS）服务器。本地地址可选，用于指定源地址或端口。',
    'help.tcp-server': '监听 TCP（或 TLS）客户端连接；逐个显示客户端，可发给其中一个或全部。',
    'help.udp': '绑定的 UDP 套接字：显示每个数据报及其来源；可发往默认远程地址或任一对端。',
    'form.remote': '远程地址',
    'form.remoteUDP': '默认远程地址（可选）',
    'form.local': '本地地址',
    'form.localClient': '本地地址（可选）',
    'form.localUDP': '本地地址（绑定）',
    'form.listen': '监听地址',
    'form.any': '任意',
    'form.listen.ph': '127.0.0.1:8888（0.0.0.0:端口 监听所有网卡）',
    'form.bind.ph': ':端口 表示监听所有网卡',
    'form.encoding': '编码',
    'form.frame': '分帧',
    'frame.raw': '原样（按读取）',
    'frame.line': '按行（\\n 或 \\r\\n）',
    'frame.delim': '分隔符…',
    'frame.fixed': '固定长度…',
    'frame.len8': '1 字节长度前缀',
    'frame.len16': '2 字节长度前缀（大端）',
    'frame.len16le': '2 字节长度前缀（小端）',
    'frame.len32': '4 字节长度前缀（大端）',
    'frame.len32le': '4 字节长度前缀（小端）',
    'frame.bytes': '字节数',
    'form.name': '名称',
    'form.optional': '可选',
    'tls.insecure': '接受任何证书',
    'tls.pin': '证书指纹 (SHA-256)',
    'tls.sni': '服务器名称 (SNI)',
    'tls.sni.ph': '默认：主机名',
    'tls.ca': 'CA 证书文件',
    'tls.pem': 'PEM 文件',
    'tls.cert': '证书',
    'tls.cert.ph': 'PEM 文件；留空则临时生成自签名证书',
    'tls.key': '私钥',
    'form.open': '打开',
    'form.cancel': '取消',
    'form.notOpened': '未打开。',
    'keys.title': '快捷键：',
    'keys.send': '发送',
    'keys.clear': '清空日志',
    'keys.history': '历史记录',
    'keys.new': '新建会话',
    'confirm.why': '其他机器（或用户）将能连接到它，对方发送的任何数据都会显示在这里，并触发本会话的自动应答规则。sockit 会在终端上记录此事。',
    'confirm.yes': '仍然打开',

    'panel.encoding': '编码',
    'panel.encoding.title': '文本的显示和发送编码',
    'panel.reconnect': '重新连接',
    'panel.disconnect': '断开',
    'panel.close': '关闭会话',
    'chip.tcp-client': 'TCP 客户端',
    'chip.tcp-server': 'TCP 服务器',
    'chip.udp': 'UDP',
    'chip.tls': 'TLS',
    'chip.frame': '分帧 {f}',

    'log.view': '显示方式',
    'log.text': '文本',
    'log.hex': '十六进制',
    'log.filter.ph': '过滤：文本、十六进制或对端地址',
    'log.autoscroll': '自动滚动',
    'log.pause': '暂停',
    'log.resume': '继续',
    'log.clear': '清空',
    'log.clear.title': '清空日志 (Ctrl+K)',
    'log.json.title': '以 JSON Lines 格式下载日志，与 --record 相同（可用 sockit replay 回放）',
    'log.text.title': '以文本格式下载日志',
    'log.dl.json': '⤓ JSON',
    'log.dl.text': '⤓ 文本',
    'log.empty': '暂无数据：发送和接收的内容会显示在这里。',
    'log.nomatch': '没有符合过滤条件的内容。',
    'log.more': ' … 另有 {n} 字节（见下载的日志）',
    'log.emptyMsg': '（空）',
    'info.filtered': '显示 {shown} 条，共 {kept} 条（已过滤）',
    'info.last': '显示最近 {shown} 条，共 {kept} 条事件',
    'info.events': '{n} 条事件',
    'info.older': '{n} 条较早的已隐藏',
    'info.skipped': '页面追赶时跳过 {n} 条',
    'info.download': '下载的日志包含 sockit 保留的全部内容',
    'info.paused': '已暂停',
    'info.pausedNew': '已暂停，新增 {n} 条',

    'send.input': '输入方式',
    'send.text': '文本',
    'send.hex': '十六进制',
    'send.enc': '编码',
    'send.enc.title': '发送文本所用的编码',
    'send.session': '同会话',
    'send.eol': '行尾',
    'send.eol.title': '附加在每条消息末尾的行结束符',
    'send.none': '无',
    'send.escapes': '转义字符',
    'send.template': '模板',
    'send.checksum': '校验',
    'send.checksum.title': '附加在每条消息末尾',
    'send.to': '发送到',
    'send.ph': '消息 · Ctrl+Enter 发送',
    'send.hex.ph': '十六进制字节：48 65 6c 6c 6f、48656c6c6f 或 0x48,0x65 · Ctrl+Enter 发送',
    'send.send': '发送',
    'send.every': '每',
    'send.ms': '毫秒 ×',
    'send.count.title': '0：一直发送，直到停止',
    'send.repeat': '定时发送',
    'send.stop': '停止',
    'send.history': '历史记录',
    'send.historyN': '历史记录（{n}）',
    'send.history.title': '之前发送过的内容 (Ctrl+↑/↓)',
    'send.name.ph': '名称',
    'send.save': '保存',
    'send.save.title': '将此消息保存到常用消息',
    'send.needName': '请先为消息命名再保存',
    'repeat.sending': '正在发送：{n}',
    'repeat.sent': '已发送 {n}',
    'repeat.of': ' / {n}',
    'repeat.forever': '（直到停止）',

    'side.counters': '计数',
    'side.reset': '清零',
    'side.reset.title': '计数器清零',
    'side.bytes': '字节',
    'side.messages': '消息',
    'side.rate': '速率',
    'side.in': '接收',
    'side.out': '发送',
    'side.peers': '对端',
    'side.saved': '常用消息',
    'side.rules': '自动应答规则',
    'rules.ph': '匹配模式=>应答，每行一条，例如\n^PING$=>PONG\\r\\n\n^AT$=>hex:4f4b0d0a\n^TIME$=>{{time}}\\r\\n',
    'rules.apply': '应用',
    'rules.pending': '尚未应用',
    'rules.active': '{n} 条规则已生效',
    'rules.none': '无规则',

    'peers.noUDP': '尚未收到数据报。',
    'peers.noTCP': '没有客户端连接。',
    'peers.meta': '收 {in} · 发 {out}',
    'peers.conv': '连接 #{id}',
    'peers.sendTo': '只发给它',
    'peers.toAll': '发给全部',
    'peers.sendTo.title': '只发送给这个对端',
    'peers.toAll.title': '恢复发送给所有对端',
    'peers.forget': '移除此对端',
    'peers.kick': '断开连接',
    'to.remote': '默认远程 {addr}',
    'to.allPeers': '所有对端',
    'to.allClients': '所有客户端',

    'saved.empty': '输入消息、填写名称后点“保存”：消息会留在这里，一键即可发送。',
    'saved.send': '发送 {name}',
    'saved.edit': '编辑',
    'saved.edit.title': '放入发送框',
    'saved.delete': '删除',
  };

  // What sockit itself says (status lines, events, errors), in Chinese:
  // the beginnings it is known to use, the rest left as it is.
  const zhPatterns = [
    [/^TCP client (\S+)$/, 'TCP 客户端 $1'],
    [/^TCP server (\S+)$/, 'TCP 服务器 $1'],
    [/^listening on (.*)$/, '正在监听 $1'],
    [/^bound to (.*)$/, '已绑定 $1'],
    [/^connecting to (.*?)…$/, '正在连接 $1…'],
    [/^connected to (\S+) from (\S+)$/, '已连接到 $1，本地地址 $2'],
    [/^connected to (\S+) \((\w+), local (\S+)\)$/, '已连接到 $1（$2，本地 $3）'],
    [/^stopped: (.*)$/, '已停止：$1'],
    [/^(.*), default remote (.*)$/, '$1，默认远程 $2'],
    [/^(.*) · TLS, certificate SHA-256 (.*)$/, '$1 · TLS，证书 SHA-256 $2'],
    [/^not connected: nothing sent \(Reconnect first\)$/, '未连接：没有发送（请先重新连接）'],
    [/^repeat stopped: (.*)$/, '定时发送已停止：$1'],
    [/^closed by the peer$/, '对方已关闭连接'],
    [/^session closed$/, '会话已关闭'],
    [/connection refused/, '连接被拒绝'],
  ];

  const dicts = { en: en, 'zh-CN': zh };
  const langs = ['en', 'zh-CN'];
  const KEY = 'sockit.lang';

  function stored() {
    try { return localStorage.getItem(KEY); } catch (e) { return null; }
  }

  // pick: the language chosen in the page, else the browser's first one
  // we have (any zh-* is zh-CN), else English.
  function pick() {
    const s = stored();
    if (s && dicts[s]) return s;
    const prefs = (navigator.languages && navigator.languages.length) ? navigator.languages : [navigator.language || 'en'];
    for (const l of prefs) {
      if (/^zh\b/i.test(l)) return 'zh-CN';
      if (/^en\b/i.test(l)) return 'en';
    }
    return 'en';
  }

  let lang = pick();

  function t(key, params) {
    const d = dicts[lang];
    let s;
    if (params && params.n === 1) s = d[key + '.one'] != null ? d[key + '.one'] : (d === en ? undefined : d[key]);
    if (s == null) s = d[key];
    if (s == null && params && params.n === 1) s = en[key + '.one'];
    if (s == null) s = en[key];
    if (s == null) return key;
    if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (params[k] != null ? String(params[k]) : m));
    return s;
  }

  // tr translates a text sockit sent, where a pattern knows it.
  function tr(text) {
    if (lang !== 'zh-CN' || !text) return text;
    let out = text;
    for (const p of zhPatterns) out = out.replace(p[0], p[1]);
    return out;
  }

  // apply sets the texts of root's elements that name a key.
  function apply(root) {
    const all = (sel) => Array.from(root.querySelectorAll(sel));
    for (const e of all('[data-i18n]')) e.textContent = t(e.dataset.i18n);
    for (const e of all('[data-i18n-title]')) e.title = t(e.dataset.i18nTitle);
    for (const e of all('[data-i18n-placeholder]')) e.placeholder = t(e.dataset.i18nPlaceholder);
    for (const e of all('[data-i18n-aria]')) e.setAttribute('aria-label', t(e.dataset.i18nAria));
  }

  function applyPage() {
    document.documentElement.lang = lang;
    apply(document);
    for (const tpl of document.querySelectorAll('template')) apply(tpl.content);
  }

  // set switches the language, remembers it and tells the page (the
  // 'sockit-lang' event) to draw its texts again.
  function set(l) {
    if (!dicts[l]) return;
    lang = l;
    try { localStorage.setItem(KEY, l); } catch (e) { /* private mode: not remembered */ }
    applyPage();
    document.dispatchEvent(new Event('sockit-lang'));
  }

  window.sockitI18n = {
    t: t, tr: tr, apply: apply, applyPage: applyPage, set: set, langs: langs,
    get lang() { return lang; }, name: (l) => dicts[l]['lang.name'],
    // For a look at what is missing: keys one language has and the other not.
    missing: () => {
      const out = [];
      for (const l of langs) for (const k of Object.keys(en)) if (!k.endsWith('.one') && dicts[l][k] == null) out.push(l + ':' + k);
      for (const k of Object.keys(zh)) if (en[k] == null) out.push('en:' + k);
      return out;
    },
  };
})();
